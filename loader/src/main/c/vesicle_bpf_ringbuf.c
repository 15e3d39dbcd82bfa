/* Natives of io.vesicle.loader.RingBuffer: libbpf's ring_buffer consumer (epoll on the map,
 * records read from its mmap'ed pages) copying records into a Java direct buffer, so one JNI
 * call hands Java a batch and no callback crosses back into the JVM. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "vesicle_jni.h"
#include "vesicle_bpf.h"

/* A record in the batch: u32 length, u32 0, then the bytes, padded to 8. */
#define RECORD_HEADER 8
/* Returned by the sample callback to end a batch that has no room for another record. libbpf
 * has consumed the record by then: it is always copied first. */
#define BATCH_FULL (-ENOBUFS)

struct reader {
	struct ring_buffer *rb;
	char *out;
	size_t capacity;
	size_t used;
	size_t max_record;
	long long oversized; /* records longer than max_record, skipped */
};

static size_t padded(size_t size)
{
	return (size + 7) & ~(size_t)7;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct reader *r = ctx;

	if (size > r->max_record) {
		r->oversized++;
		return 0;
	}
	uint32_t header[2] = { (uint32_t)size, 0 };

	memcpy(r->out + r->used, header, sizeof(header));
	memcpy(r->out + r->used + RECORD_HEADER, data, size);
	r->used += RECORD_HEADER + padded(size);
	return r->capacity - r->used < RECORD_HEADER + padded(r->max_record) ? BATCH_FULL : 0;
}

/* A reader handle, or -errno (-EINVAL: fd is no ring buffer). */
static jlong ringbuf_open(JNIEnv *env, jclass clazz, jint fd, jint max_record)
{
	struct reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return -ENOMEM;
	r->max_record = (size_t)max_record;
	vesicle_bpf_log_begin();
	r->rb = ring_buffer__new(fd, on_record, r, NULL);
	int err = r->rb == NULL ? (errno ? -errno : -EINVAL) : 0;

	vesicle_bpf_log_end(0);
	if (err) {
		free(r);
		return err;
	}
	return (jlong)(intptr_t)r;
}

static jint batch_result(struct reader *r, int ret)
{
	r->out = NULL;
	if (ret < 0 && ret != BATCH_FULL && ret != -EINTR)
		return ret;
	return (jint)r->used;
}

/* Waits up to timeout_ms (0: not at all) for records and copies them into out, which holds at
 * least RECORD_HEADER + padded(max_record) bytes. The bytes used, or -errno. */
static jint ringbuf_poll(JNIEnv *env, jclass clazz, jlong handle, jobject out, jint capacity,
			 jint timeout_ms)
{
	struct reader *r = (struct reader *)(intptr_t)handle;

	r->out = (*env)->GetDirectBufferAddress(env, out);
	r->capacity = (size_t)capacity;
	r->used = 0;
	int ret = timeout_ms > 0 ? ring_buffer__poll(r->rb, timeout_ms) : 0;

	/* Producers may submit without waking the reader (to batch wakeups): whatever epoll said,
	 * take what is there. */
	if (ret == 0)
		ret = ring_buffer__consume(r->rb);
	return batch_result(r, ret);
}

static jlong ringbuf_oversized(JNIEnv *env, jclass clazz, jlong handle)
{
	return ((struct reader *)(intptr_t)handle)->oversized;
}

static void ringbuf_close(JNIEnv *env, jclass clazz, jlong handle)
{
	struct reader *r = (struct reader *)(intptr_t)handle;

	ring_buffer__free(r->rb);
	free(r);
}

static const JNINativeMethod ringbuf_methods[] = {
	{ "open0", "(II)J", (void *)ringbuf_open },
	{ "poll0", "(JLjava/nio/ByteBuffer;II)I", (void *)ringbuf_poll },
	{ "oversized0", "(J)J", (void *)ringbuf_oversized },
	{ "close0", "(J)V", (void *)ringbuf_close },
};

int vesicle_bpf_ringbuf_onload(JNIEnv *env)
{
	return vesicle_register_natives(env, VESICLE_PACKAGE "RingBuffer", ringbuf_methods,
					VESICLE_ARRAY_SIZE(ringbuf_methods));
}
