/* Natives of io.vesicle.loader.OwnedFd: closing and duplicating the descriptors that maps,
 * programs, namespaces and tc links own. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "vesicle_jni.h"
#include "vesicle_fd.h"

int vesicle_dup_fd(int fd)
{
	if (fd < 0)
		return fd;
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	return dup < 0 ? -errno : dup;
}

static jint fd_dup(JNIEnv *env, jclass clazz, jint fd)
{
	return vesicle_dup_fd(fd);
}

static jint fd_close(JNIEnv *env, jclass clazz, jint fd)
{
	return close(fd) < 0 ? -errno : 0;
}

static const JNINativeMethod fd_methods[] = {
	{ "dup0", "(I)I", (void *)fd_dup },
	{ "close0", "(I)I", (void *)fd_close },
};

/* Nothing is cached, so there is nothing to unwind. */
int vesicle_fd_onload(JNIEnv *env)
{
	return vesicle_register_natives(env, VESICLE_PACKAGE "OwnedFd", fd_methods,
					VESICLE_ARRAY_SIZE(fd_methods));
}
