/* Natives of io.vesicle.loader.TcxLink: a program on a device's tcx hook (kernel >= 6.6) held
 * by a BPF link, created inside the device's network namespace. Debian 12's libbpf (1.1) and
 * headers predate tcx, so the attach types, the link type and the link info's tcx part are
 * spelled out here; the calls are the generic link ones. */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "vesicle_jni.h"
#include "vesicle_bpf.h"
#include "vesicle_netns.h"

#define VESICLE_LINK_TYPE_TCX 11 /* enum bpf_link_type's BPF_LINK_TYPE_TCX */

/* struct bpf_link_info up to its tcx member: the union after prog_id is 8-byte aligned. */
struct tcx_link_info {
	__u32 type;
	__u32 id;
	__u32 prog_id;
	__u32 pad;
	__u32 ifindex;
	__u32 attach_type;
	__u8 rest[64]; /* the kernel may fill more of its union */
};

/* A link fd holding prog_fd at attach_type (BPF_TCX_INGRESS 46, BPF_TCX_EGRESS 47) of ifindex
 * in ns_fd, or -errno; libbpf's messages kept when it fails
 * (TcLink.takeLog0 takes them: the capture is per thread). */
static jint tcx_attach(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jint attach_type, jint prog_fd)
{
	int saved;
	int ret = vesicle_netns_enter(ns_fd, &saved);

	if (ret < 0)
		return ret;
	vesicle_bpf_log_begin();
	ret = bpf_link_create(prog_fd, ifindex, (enum bpf_attach_type)attach_type, NULL);
	vesicle_bpf_log_end(ret < 0);
	vesicle_netns_leave(saved);
	return ret < 0 ? -errno : ret;
}

/* Fills out with {program id, ifindex, attach type, link id}; -EBADF when fd is no tcx link. */
static jint tcx_info(JNIEnv *env, jclass clazz, jint fd, jintArray out)
{
	struct tcx_link_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	if (info.type != VESICLE_LINK_TYPE_TCX)
		return -EBADF;
	jint values[4] = { (jint)info.prog_id, (jint)info.ifindex, (jint)info.attach_type, (jint)info.id };

	(*env)->SetIntArrayRegion(env, out, 0, 4, values);
	return 0;
}

/* Puts prog_fd in the link's place: the hook never runs without a program meanwhile. */
static jint tcx_update(JNIEnv *env, jclass clazz, jint link_fd, jint prog_fd)
{
	return bpf_link_update(link_fd, prog_fd, NULL) < 0 ? -errno : 0;
}

/* Detaches the link from its device now, whoever else holds it (a pin); the fd stays valid. */
static jint tcx_detach(JNIEnv *env, jclass clazz, jint link_fd)
{
	return bpf_link_detach(link_fd) < 0 ? -errno : 0;
}

/* The ids of the programs at attach_type of ifindex in ns_fd, first to run first, into ids;
 * their count (possibly more than ids holds), or -errno. */
static jint tcx_query(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jint attach_type, jintArray ids)
{
	int saved;
	int ret = vesicle_netns_enter(ns_fd, &saved);

	if (ret < 0)
		return ret;
	__u32 capacity = (__u32)(*env)->GetArrayLength(env, ids);
	__u32 buf[64];
	__u32 count = capacity < 64 ? capacity : 64;

	ret = bpf_prog_query(ifindex, (enum bpf_attach_type)attach_type, 0, NULL, buf, &count);
	/* ENOSPC: more programs than room; count says how many, buf holds the first ones. */
	ret = ret < 0 && errno != ENOSPC ? -errno : 0;
	vesicle_netns_leave(saved);
	if (ret < 0)
		return ret;
	__u32 copied = count < capacity ? count : capacity;

	(*env)->SetIntArrayRegion(env, ids, 0, (jsize)(copied < 64 ? copied : 64), (const jint *)buf);
	return (jint)count;
}

static const JNINativeMethod tcx_methods[] = {
	{ "attach0", "(IIII)I", (void *)tcx_attach },
	{ "info0", "(I[I)I", (void *)tcx_info },
	{ "update0", "(II)I", (void *)tcx_update },
	{ "detach0", "(I)I", (void *)tcx_detach },
	{ "query0", "(III[I)I", (void *)tcx_query },
};

int vesicle_bpf_tcx_onload(JNIEnv *env)
{
	return vesicle_register_natives(env, VESICLE_PACKAGE "TcxLink", tcx_methods,
					VESICLE_ARRAY_SIZE(tcx_methods));
}
