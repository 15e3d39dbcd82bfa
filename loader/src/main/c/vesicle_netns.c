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

/* Natives of io.vesicle.loader.NetNs. */
#include <string.h>
#include "vesicle_jni.h"

static jint netns_open(JNIEnv *env, jclass clazz, jstring path)
{
	const char *chars = (*env)->GetStringUTFChars(env, path, NULL);

	if (chars == NULL)
		return -ENOMEM;
	int fd = open(chars, O_RDONLY | O_CLOEXEC);
	int ret = fd < 0 ? -errno : fd;

	(*env)->ReleaseStringUTFChars(env, path, chars);
	return ret;
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
	{ "open0", "(Ljava/lang/String;)I", (void *)netns_open },
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
