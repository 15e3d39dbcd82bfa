#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vesicle_netns.h"

int vesicle_netns_enter(int ns_fd, int *saved)
{
	*saved = -1;
	if (ns_fd < 0)
		return 0;
	int current = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (current < 0)
		return -errno;
	if (setns(ns_fd, CLONE_NEWNET) < 0) {
		int err = errno;

		close(current);
		return -err;
	}
	*saved = current;
	return 0;
}

void vesicle_netns_leave(int saved)
{
	if (saved < 0)
		return;
	if (setns(saved, CLONE_NEWNET) < 0) {
		perror("vesicle: cannot return to the thread's network namespace");
		abort();
	}
	close(saved);
}

/* Natives of io.vesicle.loader.NetNs. A path is opened O_PATH first: that follows the final
 * symlink (so /proc/PID/ns/net works) but, unlike a real open, has no side effect on a FIFO, a
 * device or a socket and cannot block. Java checks what was opened before anything reads it. */
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/nsfs.h>
#include "vesicle_jni.h"

/* What inspect0 fills, in this order; see NetNs. */
enum { INSPECT_FS_TYPE, INSPECT_MODE, INSPECT_DEV, INSPECT_INO, INSPECT_LEN };

static jint netns_open_path(JNIEnv *env, jclass clazz, jstring path)
{
	const char *chars = (*env)->GetStringUTFChars(env, path, NULL);

	if (chars == NULL)
		return -ENOMEM;
	int fd = open(chars, O_PATH | O_CLOEXEC);
	int ret = fd < 0 ? -errno : fd;

	(*env)->ReleaseStringUTFChars(env, path, chars);
	return ret;
}

/* The file system type, mode, device and inode of what fd (O_PATH is enough) refers to. */
static jint netns_inspect(JNIEnv *env, jclass clazz, jint fd, jlongArray out)
{
	struct statfs fs;
	struct stat st;

	if (fstatfs(fd, &fs) < 0 || fstat(fd, &st) < 0)
		return -errno;
	jlong values[INSPECT_LEN] = {
		[INSPECT_FS_TYPE] = (jlong)(unsigned long)fs.f_type,
		[INSPECT_MODE] = (jlong)st.st_mode,
		[INSPECT_DEV] = (jlong)st.st_dev,
		[INSPECT_INO] = (jlong)st.st_ino,
	};

	(*env)->SetLongArrayRegion(env, out, 0, INSPECT_LEN, values);
	return 0;
}

/* A readable descriptor of the file behind an O_PATH one (setns and ioctl refuse O_PATH).
 * Only called once fd is known to be on nsfs, where opening has no side effect. */
static jint netns_reopen(JNIEnv *env, jclass clazz, jint fd)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int reopened = open(path, O_RDONLY | O_CLOEXEC);

	return reopened < 0 ? -errno : reopened;
}

/* The CLONE_NEW* type of the namespace behind fd. */
static jint netns_type(JNIEnv *env, jclass clazz, jint fd)
{
	int type = ioctl(fd, NS_GET_NSTYPE);

	return type < 0 ? -errno : type;
}

/* Writes a /proc/sys/net file as seen from the namespace (those files are per namespace,
 * chosen by the opener's namespace). */
static jint netns_write_sysctl(JNIEnv *env, jclass clazz, jint ns_fd, jstring path, jstring value)
{
	const char *file = (*env)->GetStringUTFChars(env, path, NULL);
	const char *text = file ? (*env)->GetStringUTFChars(env, value, NULL) : NULL;
	int saved, ret;

	if (text == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	ret = vesicle_netns_enter(ns_fd, &saved);
	if (ret < 0)
		goto out;
	int fd = open(file, O_WRONLY | O_CLOEXEC);

	if (fd < 0) {
		ret = -errno;
	} else {
		size_t len = strlen(text);

		ret = write(fd, text, len) == (ssize_t)len ? 0 : -errno;
		close(fd);
	}
	vesicle_netns_leave(saved);
out:
	if (text)
		(*env)->ReleaseStringUTFChars(env, value, text);
	if (file)
		(*env)->ReleaseStringUTFChars(env, path, file);
	return ret;
}

static const JNINativeMethod netns_methods[] = {
	{ "openPath0", "(Ljava/lang/String;)I", (void *)netns_open_path },
	{ "inspect0", "(I[J)I", (void *)netns_inspect },
	{ "reopen0", "(I)I", (void *)netns_reopen },
	{ "nsType0", "(I)I", (void *)netns_type },
	{ "writeSysctl0", "(ILjava/lang/String;Ljava/lang/String;)I", (void *)netns_write_sysctl },
};

int vesicle_netns_onload(JNIEnv *env)
{
	return vesicle_register_natives(env, VESICLE_PACKAGE "NetNs", netns_methods,
					VESICLE_ARRAY_SIZE(netns_methods));
}

void vesicle_netns_onunload(JNIEnv *env)
{
}
