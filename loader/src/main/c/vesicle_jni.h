/* Shared definitions of the JNI shim: registration hooks of each topic file. */
#ifndef VESICLE_JNI_H
#define VESICLE_JNI_H

#include <jni.h>

#define VESICLE_JNI_VERSION JNI_VERSION_10
#define VESICLE_PACKAGE "io/vesicle/loader/"

/* Each topic registers its natives on load and drops its cached references on unload.
 * Return 0, or -1 with a pending Java exception. */
int vesicle_errors_onload(JNIEnv *env);
void vesicle_errors_onunload(JNIEnv *env);
int vesicle_fd_onload(JNIEnv *env);
int vesicle_netns_onload(JNIEnv *env);
void vesicle_netns_onunload(JNIEnv *env);
int vesicle_bpf_onload(JNIEnv *env);
void vesicle_bpf_onunload(JNIEnv *env);
int vesicle_netlink_onload(JNIEnv *env);
void vesicle_netlink_onunload(JNIEnv *env);
int vesicle_bpffs_onload(JNIEnv *env);
int vesicle_nftables_onload(JNIEnv *env);
void vesicle_bpffs_onunload(JNIEnv *env);

/* RegisterNatives for one class; -1 with a pending exception on failure. */
int vesicle_register_natives(JNIEnv *env, const char *class_name, const JNINativeMethod *methods,
			     int count);

#define VESICLE_ARRAY_SIZE(a) ((int)(sizeof(a) / sizeof((a)[0])))

#endif
