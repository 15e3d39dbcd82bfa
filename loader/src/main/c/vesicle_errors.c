/* Natives of io.vesicle.loader.Errors: errno descriptions, fetched once at class init. */
#include <string.h>
#include <bpf/libbpf.h>

#include "vesicle_jni.h"

/* libbpf_strerror knows libbpf's own codes (LIBBPF_ERRNO__*, 4000 and up). */
static jstring errors_strerror(JNIEnv *env, jclass clazz, jint err)
{
	char text[128];

	if (err < __LIBBPF_ERRNO__START)
		return (*env)->NewStringUTF(env, strerror(err));
	libbpf_strerror(err, text, sizeof(text));
	return (*env)->NewStringUTF(env, text);
}

static const JNINativeMethod errors_methods[] = {
	{ "strerror", "(I)Ljava/lang/String;", (void *)errors_strerror },
};

int vesicle_errors_onload(JNIEnv *env)
{
	return vesicle_register_natives(env, VESICLE_PACKAGE "Errors", errors_methods,
					sizeof(errors_methods) / sizeof(errors_methods[0]));
}

void vesicle_errors_onunload(JNIEnv *env)
{
}
