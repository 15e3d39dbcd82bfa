/* JNI_OnLoad: checks libbpf's version, then registers every topic's natives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "vesicle_jni.h"

int vesicle_register_natives(JNIEnv *env, const char *class_name, const JNINativeMethod *methods,
			     int count)
{
	jclass clazz = (*env)->FindClass(env, class_name);

	if (clazz == NULL)
		return -1;
	int ret = (*env)->RegisterNatives(env, clazz, methods, count);

	(*env)->DeleteLocalRef(env, clazz);
	return ret == JNI_OK ? 0 : -1;
}

static int libbpf_supported(void)
{
	/* libbpf 0.x differs in signatures we call (tc, batch opts): refuse it. */
	return libbpf_major_version() >= 1;
}

JNIEXPORT jint JNI_OnLoad(JavaVM *vm, void *reserved)
{
	JNIEnv *env;

	if ((*vm)->GetEnv(vm, (void **)&env, VESICLE_JNI_VERSION) != JNI_OK)
		return JNI_ERR;
	if (!libbpf_supported()) {
		char message[128];
		jclass err = (*env)->FindClass(env, "java/lang/UnsatisfiedLinkError");

		snprintf(message, sizeof(message), "libbpf %u.%u is too old: 1.0 or newer is needed",
			 libbpf_major_version(), libbpf_minor_version());
		if (err != NULL)
			(*env)->ThrowNew(env, err, message);
		return JNI_ERR;
	}
	if (vesicle_errors_onload(env) < 0)
		return JNI_ERR;
	if (vesicle_fd_onload(env) < 0 || vesicle_netns_onload(env) < 0)
		goto unwind_errors;
	if (vesicle_bpf_onload(env) < 0)
		goto unwind_netns;
	if (vesicle_netlink_onload(env) < 0)
		goto unwind_bpf;
	if (vesicle_bpffs_onload(env) < 0)
		goto unwind_netlink;
	if (vesicle_nftables_onload(env) < 0)
		goto unwind_bpffs;
	return VESICLE_JNI_VERSION;

unwind_bpffs:
	vesicle_bpffs_onunload(env);
unwind_netlink:
	vesicle_netlink_onunload(env);
unwind_bpf:
	vesicle_bpf_onunload(env);
unwind_netns:
	vesicle_netns_onunload(env);
unwind_errors:
	vesicle_errors_onunload(env);
	return JNI_ERR;
}

JNIEXPORT void JNI_OnUnload(JavaVM *vm, void *reserved)
{
	JNIEnv *env;

	if ((*vm)->GetEnv(vm, (void **)&env, VESICLE_JNI_VERSION) != JNI_OK)
		return;
	vesicle_bpffs_onunload(env);
	vesicle_netlink_onunload(env);
	vesicle_bpf_onunload(env);
	vesicle_netns_onunload(env);
	vesicle_errors_onunload(env);
}
