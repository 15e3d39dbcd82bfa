/* Natives of io.vesicle.loader.Bpffs: is a directory on bpffs, and mounting one. */
#include <errno.h>
#include <sys/mount.h>
#include <sys/vfs.h>

#include "vesicle_jni.h"

/* The file system type (statfs f_type) of the one holding path, or -errno. */
static jlong bpffs_fs_type(JNIEnv *env, jclass clazz, jstring path)
{
	const char *chars = (*env)->GetStringUTFChars(env, path, NULL);
	struct statfs st;

	if (chars == NULL)
		return -ENOMEM;
	int ret = statfs(chars, &st);
	jlong result = ret < 0 ? -errno : (jlong)(unsigned long)st.f_type;

	(*env)->ReleaseStringUTFChars(env, path, chars);
	return result;
}

/* mount -t bpf -o mode=0700 bpf path: pins are for root alone (bpffs without a mode is
 * world-writable, so anyone could remove or replace them); 0 or -errno. */
static jint bpffs_mount(JNIEnv *env, jclass clazz, jstring path)
{
	const char *chars = (*env)->GetStringUTFChars(env, path, NULL);

	if (chars == NULL)
		return -ENOMEM;
	int ret = mount("bpf", chars, "bpf", 0, "mode=0700") < 0 ? -errno : 0;

	(*env)->ReleaseStringUTFChars(env, path, chars);
	return ret;
}

static const JNINativeMethod bpffs_methods[] = {
	{ "fsType0", "(Ljava/lang/String;)J", (void *)bpffs_fs_type },
	{ "mount0", "(Ljava/lang/String;)I", (void *)bpffs_mount },
};

int vesicle_bpffs_onload(JNIEnv *env)
{
	return vesicle_register_natives(env, VESICLE_PACKAGE "Bpffs", bpffs_methods,
					sizeof(bpffs_methods) / sizeof(bpffs_methods[0]));
}

void vesicle_bpffs_onunload(JNIEnv *env)
{
}
