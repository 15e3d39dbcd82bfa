/* Natives of io.vesicle.loader.BpfMap. Java checks buffer sizes before calling, so the
 * element calls are one JNI address lookup per buffer and one syscall. */
#include <errno.h>
#include <stdint.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "vesicle_jni.h"
#include "vesicle_bpf.h"

/* Attributes filled by info0, in this order (see BpfMap). */
enum { INFO_TYPE, INFO_ID, INFO_KEY_SIZE, INFO_VALUE_SIZE, INFO_MAX_ENTRIES, INFO_FLAGS, INFO_LEN };

/* java.nio.Buffer.address, read directly: GetDirectBufferAddress first checks that the object
 * is a Buffer (IsInstanceOf), about 20 ns a call, a tenth of a map update. BpfMap has checked
 * isDirect() already. NULL when this JDK has no such field: then GetDirectBufferAddress. */
static jfieldID buffer_address;

static inline void *address(JNIEnv *env, jobject buffer)
{
	if (buffer_address != NULL)
		return (void *)(intptr_t)(*env)->GetLongField(env, buffer, buffer_address);
	return (*env)->GetDirectBufferAddress(env, buffer);
}

static jint map_lookup(JNIEnv *env, jclass clazz, jint fd, jobject key, jobject value)
{
	return bpf_map_lookup_elem(fd, address(env, key), address(env, value));
}

static jint map_update(JNIEnv *env, jclass clazz, jint fd, jobject key, jobject value, jlong flags)
{
	return bpf_map_update_elem(fd, address(env, key), address(env, value), (__u64)flags);
}

static jint map_delete(JNIEnv *env, jclass clazz, jint fd, jobject key)
{
	return bpf_map_delete_elem(fd, address(env, key));
}

static jint map_next_key(JNIEnv *env, jclass clazz, jint fd, jobject key, jobject next)
{
	return bpf_map_get_next_key(fd, key ? address(env, key) : NULL, address(env, next));
}

/* Batch calls return the count done, or -(done << 32 | errno) when the kernel stopped. */
static jlong batch_result(int ret, __u32 count)
{
	return ret < 0 ? -(((jlong)count << 32) | (jlong)-ret) : (jlong)count;
}

static jlong map_update_batch(JNIEnv *env, jclass clazz, jint fd, jobject keys, jobject values,
			      jint count, jlong flags)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = (__u64)flags);
	__u32 n = (__u32)count;
	int ret = bpf_map_update_batch(fd, address(env, keys), address(env, values), &n, &opts);

	return batch_result(ret, n);
}

static jlong map_delete_batch(JNIEnv *env, jclass clazz, jint fd, jobject keys, jint count)
{
	__u32 n = (__u32)count;
	int ret = bpf_map_delete_batch(fd, address(env, keys), &n, NULL);

	return batch_result(ret, n);
}

/* ENOENT means the map's end was reached; the count is still that of this batch. */
static jlong map_lookup_batch(JNIEnv *env, jclass clazz, jint fd, jobject in_token,
			      jobject out_token, jobject keys, jobject values, jint max)
{
	__u32 n = (__u32)max;
	int ret = bpf_map_lookup_batch(fd, in_token ? address(env, in_token) : NULL,
				       address(env, out_token), address(env, keys),
				       address(env, values), &n, NULL);

	return batch_result(ret == -ENOENT ? 0 : ret, n);
}

/* -EBADF when fd is no bpf-map. */
static jint map_info(JNIEnv *env, jclass clazz, jint fd, jintArray attrs)
{
	struct bpf_map_info info;
	int ret = vesicle_bpf_info(fd, "bpf-map", &info, sizeof(info));

	if (ret < 0)
		return ret;
	jint values[INFO_LEN] = {
		[INFO_TYPE] = (jint)info.type,
		[INFO_ID] = (jint)info.id,
		[INFO_KEY_SIZE] = (jint)info.key_size,
		[INFO_VALUE_SIZE] = (jint)info.value_size,
		[INFO_MAX_ENTRIES] = (jint)info.max_entries,
		[INFO_FLAGS] = (jint)info.map_flags,
	};

	(*env)->SetIntArrayRegion(env, attrs, 0, INFO_LEN, values);
	return 0;
}

/* names[0], names[1] = the map's key and value type names in the BTF it was created with;
 * both stay null when it was created without BTF. 0 or -errno. */
static jint map_btf_type_names(JNIEnv *env, jclass clazz, jint fd, jobjectArray names)
{
	struct bpf_map_info info;
	int ret = vesicle_bpf_info(fd, "bpf-map", &info, sizeof(info));

	if (ret < 0 || info.btf_id == 0)
		return ret;
	struct btf *btf = btf__load_from_kernel_by_id(info.btf_id);

	if (btf == NULL)
		return -errno;
	ret = vesicle_btf_set_type_names(env, names, 0, btf, info.btf_key_type_id,
					 info.btf_value_type_id);
	btf__free(btf);
	return ret < 0 ? -ENOMEM : 0;
}

static jint map_possible_cpus(JNIEnv *env, jclass clazz)
{
	return libbpf_num_possible_cpus();
}

static const JNINativeMethod map_methods[] = {
	{ "lookup0", "(ILjava/nio/ByteBuffer;Ljava/nio/ByteBuffer;)I", (void *)map_lookup },
	{ "update0", "(ILjava/nio/ByteBuffer;Ljava/nio/ByteBuffer;J)I", (void *)map_update },
	{ "delete0", "(ILjava/nio/ByteBuffer;)I", (void *)map_delete },
	{ "nextKey0", "(ILjava/nio/ByteBuffer;Ljava/nio/ByteBuffer;)I", (void *)map_next_key },
	{ "updateBatch0", "(ILjava/nio/ByteBuffer;Ljava/nio/ByteBuffer;IJ)J", (void *)map_update_batch },
	{ "deleteBatch0", "(ILjava/nio/ByteBuffer;I)J", (void *)map_delete_batch },
	{ "lookupBatch0",
	  "(ILjava/nio/ByteBuffer;Ljava/nio/ByteBuffer;Ljava/nio/ByteBuffer;Ljava/nio/ByteBuffer;I)J",
	  (void *)map_lookup_batch },
	{ "info0", "(I[I)I", (void *)map_info },
	{ "possibleCpus0", "()I", (void *)map_possible_cpus },
	{ "btfTypeNames0", "(I[Ljava/lang/String;)I", (void *)map_btf_type_names },
};

int vesicle_bpf_map_onload(JNIEnv *env)
{
	jclass buffer = (*env)->FindClass(env, "java/nio/Buffer");

	if (buffer == NULL)
		return -1;
	buffer_address = (*env)->GetFieldID(env, buffer, "address", "J");
	if (buffer_address == NULL)
		(*env)->ExceptionClear(env);
	(*env)->DeleteLocalRef(env, buffer);
	return vesicle_register_natives(env, VESICLE_PACKAGE "BpfMap", map_methods,
					VESICLE_ARRAY_SIZE(map_methods));
}
