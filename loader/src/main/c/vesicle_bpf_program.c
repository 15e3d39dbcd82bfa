/* Natives of io.vesicle.loader.Program: identity of a loaded program and BPF_PROG_TEST_RUN. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "vesicle_jni.h"
#include "vesicle_bpf.h"
#include "vesicle_netns.h"

/* Attributes filled by info0, in this order (see Program). */
enum { INFO_TYPE, INFO_ID, INFO_LEN };
/* Results filled by testRun0, in this order. */
enum { RUN_RETVAL, RUN_DATA_SIZE, RUN_DURATION, RUN_LEN };

/* -EBADF when fd is no bpf-prog. */
static jint program_info(JNIEnv *env, jclass clazz, jint fd, jintArray attrs)
{
	struct bpf_prog_info info;
	int ret = vesicle_bpf_info(fd, "bpf-prog", &info, sizeof(info));

	if (ret < 0)
		return ret;
	jint values[INFO_LEN] = { [INFO_TYPE] = (jint)info.type, [INFO_ID] = (jint)info.id };

	(*env)->SetIntArrayRegion(env, attrs, 0, INFO_LEN, values);
	return 0;
}

/* Runs the program on packet; data_out receives the packet as the program left it.
 * ns_fd >= 0: run inside that network namespace (its devices, routes and neighbours are what
 * the program's helpers see). ctx_ifindex > 1 selects the device skb->ifindex reports (else the
 * namespace's loopback). */
static jint program_test_run(JNIEnv *env, jclass clazz, jint ns_fd, jint fd, jbyteArray packet,
			     jint ctx_ifindex, jint repeat, jbyteArray data_out, jlongArray results)
{
	jsize in_len = (*env)->GetArrayLength(env, packet);
	jsize out_len = (*env)->GetArrayLength(env, data_out);
	char *in = malloc((size_t)in_len + (size_t)out_len + 1);

	if (in == NULL)
		return -ENOMEM;
	char *out = in + in_len;
	struct __sk_buff ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.ifindex = (__u32)ctx_ifindex;
	(*env)->GetByteArrayRegion(env, packet, 0, in_len, (jbyte *)in);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (__u32)in_len,
		    .data_out = out, .data_size_out = (__u32)out_len, .repeat = repeat);
	if (ctx_ifindex > 1) {
		opts.ctx_in = &ctx;
		opts.ctx_size_in = sizeof(ctx);
	}
	int saved_ns;
	int ret = vesicle_netns_enter(ns_fd, &saved_ns);

	if (ret == 0) {
		ret = bpf_prog_test_run_opts(fd, &opts);
		vesicle_netns_leave(saved_ns);
	}
	if (ret == 0) {
		jsize size = opts.data_size_out < (__u32)out_len ? (jsize)opts.data_size_out : out_len;
		jlong values[RUN_LEN] = {
			[RUN_RETVAL] = (jlong)opts.retval,
			[RUN_DATA_SIZE] = size,
			[RUN_DURATION] = (jlong)opts.duration,
		};

		(*env)->SetByteArrayRegion(env, data_out, 0, size, (const jbyte *)out);
		(*env)->SetLongArrayRegion(env, results, 0, RUN_LEN, values);
	}
	free(in);
	return ret;
}

static const JNINativeMethod program_methods[] = {
	{ "info0", "(I[I)I", (void *)program_info },
	{ "testRun0", "(II[BII[B[J)I", (void *)program_test_run },
};

int vesicle_bpf_program_onload(JNIEnv *env)
{
	return vesicle_register_natives(env, VESICLE_PACKAGE "Program", program_methods,
					VESICLE_ARRAY_SIZE(program_methods));
}
