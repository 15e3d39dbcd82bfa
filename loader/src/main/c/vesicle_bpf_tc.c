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

/* One libbpf call on our filter's hook and opts. */
typedef int (*tc_op)(struct bpf_tc_hook *hook, struct bpf_tc_opts *opts);

/* Runs op inside ns_fd on the hook of ifindex at attach_point, with libbpf's messages
 * captured and kept when it fails. prog_fd is 0 except for attaching, as libbpf takes it. */
static int tc_run(int ns_fd, int ifindex, int attach_point, int prog_fd, tc_op op)
{
	int saved;
	int ret = vesicle_netns_enter(ns_fd, &saved);

	if (ret < 0)
		return ret;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = attach_point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FILTER_HANDLE, .priority = FILTER_PRIORITY,
		    .prog_fd = prog_fd);
	vesicle_bpf_log_begin();
	ret = op(&hook, &opts);
	vesicle_bpf_log_end(ret < 0);
	vesicle_netns_leave(saved);
	return ret;
}

/* Creates clsact when absent, then attaches. Returns 1 if this call created the qdisc, 0 if
 * it was there, or -errno. Replaces our filter if present: never a second one. */
static int attach_filter(struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	int created = bpf_tc_hook_create(hook);

	if (created < 0 && created != -EEXIST)
		return created;
	/* The kernel's complaint about an existing qdisc is no news. */
	vesicle_bpf_log_begin();
	opts->flags = BPF_TC_F_REPLACE;
	int ret = bpf_tc_attach(hook, opts);

	if (ret < 0 && created == 0) {
		/* Leave the device as it was: the qdisc is ours and holds nothing else. */
		LIBBPF_OPTS(bpf_tc_hook, both, .ifindex = hook->ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
		bpf_tc_hook_destroy(&both);
	}
	return ret < 0 ? ret : created == 0;
}

/* The id of the program at our handle and priority. */
static int query_filter(struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	int ret = bpf_tc_query(hook, opts);

	return ret < 0 ? ret : (int)opts->prog_id;
}

static int detach_filter(struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	return bpf_tc_detach(hook, opts);
}

static int destroy_hook(struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	return bpf_tc_hook_destroy(hook);
}

static jint tc_attach(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jint direction,
		      jint prog_fd)
{
	return tc_run(ns_fd, ifindex, direction, prog_fd, attach_filter);
}

/* -ENOENT when there is no filter, -EINVAL when the device has no clsact qdisc. */
static jint tc_query(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jint direction)
{
	return tc_run(ns_fd, ifindex, direction, 0, query_filter);
}

static jint tc_detach(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jint direction)
{
	return tc_run(ns_fd, ifindex, direction, 0, detach_filter);
}

/* Deletes the device's clsact qdisc, and with it every filter on both hooks. */
static jint tc_destroy_clsact(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex)
{
	return tc_run(ns_fd, ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS, 0, destroy_hook);
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
