/* Natives of io.vesicle.loader.TcLink: our one direct-action filter (handle 1, priority 1)
 * on a device's clsact hook, attached inside the device's network namespace. libbpf's
 * messages (the kernel's extack text) are captured: kept when a call fails, for takeLog0. */
#include <errno.h>
#include <bpf/libbpf.h>

#include "vesicle_jni.h"
#include "vesicle_bpf.h"
#include "vesicle_netns.h"

#define FILTER_HANDLE 1
#define FILTER_PRIORITY 1

/* Attaches prog_fd, creating clsact when absent. Returns 1 if this call created the qdisc,
 * 0 if it was there, or -errno. Replaces our filter if present: never a second one. */
static jint tc_attach(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jint direction,
		      jint prog_fd)
{
	int saved;
	int ret = vesicle_netns_enter(ns_fd, &saved);

	if (ret < 0)
		return ret;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = direction);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FILTER_HANDLE, .priority = FILTER_PRIORITY,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	vesicle_bpf_log_begin();
	int created = bpf_tc_hook_create(&hook);

	if (created < 0 && created != -EEXIST) {
		ret = created;
		goto out;
	}
	/* The kernel's complaint about an existing qdisc is no news. */
	vesicle_bpf_log_begin();
	ret = bpf_tc_attach(&hook, &opts);
	if (ret < 0 && created == 0) {
		/* Leave the device as it was: the qdisc is ours and holds nothing else. */
		LIBBPF_OPTS(bpf_tc_hook, both, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
		bpf_tc_hook_destroy(&both);
	}
	if (ret == 0)
		ret = created == 0;
out:
	vesicle_bpf_log_end(ret < 0);
	vesicle_netns_leave(saved);
	return ret;
}

/* The id of the program at our handle and priority; -ENOENT when there is none, -EINVAL
 * when the device has no clsact qdisc. */
static jint tc_query(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jint direction)
{
	int saved;
	int ret = vesicle_netns_enter(ns_fd, &saved);

	if (ret < 0)
		return ret;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = direction);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FILTER_HANDLE, .priority = FILTER_PRIORITY);
	vesicle_bpf_log_begin();
	ret = bpf_tc_query(&hook, &opts);
	vesicle_bpf_log_end(ret < 0);
	if (ret == 0)
		ret = (jint)opts.prog_id;
	vesicle_netns_leave(saved);
	return ret;
}

static jint tc_detach(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jint direction)
{
	int saved;
	int ret = vesicle_netns_enter(ns_fd, &saved);

	if (ret < 0)
		return ret;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = direction);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FILTER_HANDLE, .priority = FILTER_PRIORITY);
	vesicle_bpf_log_begin();
	ret = bpf_tc_detach(&hook, &opts);
	vesicle_bpf_log_end(ret < 0);
	vesicle_netns_leave(saved);
	return ret;
}

/* Deletes the device's clsact qdisc, and with it every filter on both hooks. */
static jint tc_destroy_clsact(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex)
{
	int saved;
	int ret = vesicle_netns_enter(ns_fd, &saved);

	if (ret < 0)
		return ret;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	vesicle_bpf_log_begin();
	ret = bpf_tc_hook_destroy(&hook);
	vesicle_bpf_log_end(ret < 0);
	vesicle_netns_leave(saved);
	return ret;
}

static jbyteArray tc_take_log(JNIEnv *env, jclass clazz)
{
	return vesicle_bpf_log_take(env);
}

static const JNINativeMethod tc_methods[] = {
	{ "attach0", "(IIII)I", (void *)tc_attach },
	{ "query0", "(III)I", (void *)tc_query },
	{ "detach0", "(III)I", (void *)tc_detach },
	{ "destroyClsact0", "(II)I", (void *)tc_destroy_clsact },
	{ "takeLog0", "()[B", (void *)tc_take_log },
};

int vesicle_bpf_tc_onload(JNIEnv *env)
{
	return vesicle_register_natives(env, VESICLE_PACKAGE "TcLink", tc_methods,
					VESICLE_ARRAY_SIZE(tc_methods));
}
