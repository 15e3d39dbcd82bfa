/* Natives of io.vesicle.loader.Errors: errno descriptions, fetched once at class init. */
#include <string.h>

#include "vesicle_jni.h"

static jstring errors_strerror(JNIEnv *env, jclass clazz, jint err)
{
	return (*env)->NewStringUTF(env, strerror(err));
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
