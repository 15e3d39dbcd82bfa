/* libbpf natives: registration of every topic, the natives of io.vesicle.loader.BpfFd, and
 * libbpf's messages captured per thread so that a failed open or load can carry them (the
 * verifier log among them). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "vesicle_jni.h"
#include "vesicle_bpf.h"

/* A verifier log can reach 16 MiB; its end says what failed, so the tail is what is kept. */
#define LOG_LIMIT (1u << 20)

struct log_capture {
	char *text;
	size_t len;
	size_t cap;
	size_t dropped;
	int active;
};

static __thread struct log_capture capture;
static libbpf_print_fn_t previous_print;

static void log_reset(void)
{
	free(capture.text);
	memset(&capture, 0, sizeof(capture));
}

static void log_append(const char *chars, size_t n)
{
	if (n >= LOG_LIMIT) {
		capture.dropped += capture.len + (n - LOG_LIMIT);
		chars += n - LOG_LIMIT;
		n = LOG_LIMIT;
		capture.len = 0;
	} else if (capture.len + n > LOG_LIMIT) {
		size_t drop = capture.len + n - LOG_LIMIT;

		memmove(capture.text, capture.text + drop, capture.len - drop);
		capture.len -= drop;
		capture.dropped += drop;
	}
	if (capture.len + n + 1 > capture.cap) {
		size_t cap = capture.cap ? capture.cap : 4096;

		while (cap < capture.len + n + 1)
			cap *= 2;
		char *text = realloc(capture.text, cap);

		if (text == NULL) {
			capture.dropped += n;
			return;
		}
		capture.text = text;
		capture.cap = cap;
	}
	memcpy(capture.text + capture.len, chars, n);
	capture.len += n;
	capture.text[capture.len] = '\0';
}

static int log_print(enum libbpf_print_level level, const char *format, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	if (!capture.active)
		return vfprintf(stderr, format, args);

	char small[512];
	va_list copy;

	va_copy(copy, args);
	int n = vsnprintf(small, sizeof(small), format, copy);

	va_end(copy);
	if (n < 0)
		return n;
	if ((size_t)n < sizeof(small)) {
		log_append(small, n);
		return n;
	}
	char *large = malloc((size_t)n + 1);

	if (large == NULL) {
		capture.dropped += n;
		return n;
	}
	vsnprintf(large, (size_t)n + 1, format, args);
	log_append(large, n);
	free(large);
	return n;
}

void vesicle_bpf_log_begin(void)
{
	log_reset();
	capture.active = 1;
}

void vesicle_bpf_log_end(int keep)
{
	if (keep)
		capture.active = 0;
	else
		log_reset();
}

jbyteArray vesicle_bpf_log_take(JNIEnv *env)
{
	char note[80] = "";

	if (capture.dropped)
		snprintf(note, sizeof(note), "[%zu bytes of libbpf's log left out]\n", capture.dropped);
	size_t note_len = strlen(note);
	jbyteArray bytes = (*env)->NewByteArray(env, (jsize)(note_len + capture.len));

	if (bytes != NULL && note_len > 0)
		(*env)->SetByteArrayRegion(env, bytes, 0, (jsize)note_len, (const jbyte *)note);
	if (bytes != NULL && capture.len > 0)
		(*env)->SetByteArrayRegion(env, bytes, (jsize)note_len, (jsize)capture.len,
					   (const jbyte *)capture.text);
	log_reset();
	return bytes;
}

jstring vesicle_bpf_string(JNIEnv *env, const char *chars)
{
	if (chars == NULL)
		return NULL;
	size_t len = strlen(chars);
	size_t i = 0;

	while (i < len && chars[i] >= 0x20 && chars[i] < 0x7f)
		i++;
	if (i == len)
		return (*env)->NewStringUTF(env, chars);
	char *clean = strdup(chars);

	if (clean == NULL)
		return NULL;
	for (; i < len; i++) {
		if (clean[i] < 0x20 || clean[i] >= 0x7f)
			clean[i] = '?';
	}
	jstring string = (*env)->NewStringUTF(env, clean);

	free(clean);
	return string;
}

/* bpf_obj_get_info_by_fd would fill a map's info struct with a program's fields, and the
 * other way round: check the kind first. */
static int fd_is(int fd, const char *kind)
{
	char path[64], target[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t len = readlink(path, target, sizeof(target) - 1);

	if (len < 0)
		return 0;
	target[len] = '\0';
	return strncmp(target, "anon_inode:", 11) == 0 && strcmp(target + 11, kind) == 0;
}

int vesicle_bpf_info(int fd, const char *kind, void *info, __u32 len)
{
	if (!fd_is(fd, kind))
		return -EBADF;
	memset(info, 0, len);
	return bpf_obj_get_info_by_fd(fd, info, &len);
}

/* Type names nest only through arrays; deeper than this is no map key or value anyone writes. */
#define TYPE_NAME_DEPTH 8

static void btf_type_name(const struct btf *btf, __u32 id, char *buf, size_t len, int depth)
{
	const char *typedef_name = NULL;
	const struct btf_type *type = btf__type_by_id(btf, id);

	buf[0] = '\0';
	if (id == 0 || len == 0)
		return;
	while (type != NULL && (btf_is_mod(type) || btf_is_typedef(type))) {
		if (btf_is_typedef(type))
			typedef_name = btf__name_by_offset(btf, type->name_off);
		type = btf__type_by_id(btf, type->type);
	}
	if (type == NULL) {
		snprintf(buf, len, "unknown type %u", id);
		return;
	}
	const char *name = btf__name_by_offset(btf, type->name_off);
	int named = name != NULL && name[0] != '\0';

	if (btf_is_array(type) && depth < TYPE_NAME_DEPTH) {
		const struct btf_array *array = btf_array(type);
		char element[128];

		btf_type_name(btf, array->type, element, sizeof(element), depth + 1);
		snprintf(buf, len, "%s[%u]", element, array->nelems);
	} else if (btf_is_int(type) || btf_is_float(type)) {
		snprintf(buf, len, "%s", named ? name : "anonymous number");
	} else if (btf_is_composite(type) || btf_is_any_enum(type) || btf_is_fwd(type)) {
		const char *kind = btf_is_union(type) ? "union" : btf_is_any_enum(type) ? "enum" : "struct";

		if (named)
			snprintf(buf, len, "%s %s", kind, name);
		else if (typedef_name != NULL)
			snprintf(buf, len, "%s", typedef_name);
		else
			snprintf(buf, len, "anonymous %s of %u bytes", kind, type->size);
	} else {
		snprintf(buf, len, "BTF kind %u%s%s", btf_kind(type), named ? " " : "", named ? name : "");
	}
}

void vesicle_btf_type_name(const struct btf *btf, __u32 id, char *buf, size_t len)
{
	btf_type_name(btf, id, buf, len, 0);
}

int vesicle_btf_set_type_names(JNIEnv *env, jobjectArray names, int i, const struct btf *btf,
			       __u32 key_type_id, __u32 value_type_id)
{
	__u32 ids[2] = { key_type_id, value_type_id };

	for (int k = 0; k < 2; k++) {
		char name[256];

		if (btf == NULL || ids[k] == 0)
			continue;
		vesicle_btf_type_name(btf, ids[k], name, sizeof(name));
		jstring string = vesicle_bpf_string(env, name);

		if (string == NULL)
			return -1;
		(*env)->SetObjectArrayElement(env, names, 2 * i + k, string);
		(*env)->DeleteLocalRef(env, string);
	}
	return 0;
}

/* BpfFd.Kind, in its order. */
enum { KIND_MAP, KIND_PROGRAM };

/* The kernel's name for the object (at most 15 characters), or null when fd is no object of
 * the kind. */
static jstring bpf_fd_name(JNIEnv *env, jclass clazz, jint fd, jint kind)
{
	union {
		struct bpf_map_info map;
		struct bpf_prog_info prog;
	} info;
	int program = kind == KIND_PROGRAM;
	int ret = program ? vesicle_bpf_info(fd, "bpf-prog", &info.prog, sizeof(info.prog))
			  : vesicle_bpf_info(fd, "bpf-map", &info.map, sizeof(info.map));

	if (ret < 0)
		return NULL;
	return vesicle_bpf_string(env, program ? info.prog.name : info.map.name);
}

static jint bpf_fd_obj_get(JNIEnv *env, jclass clazz, jstring path)
{
	const char *chars = (*env)->GetStringUTFChars(env, path, NULL);

	if (chars == NULL)
		return -ENOMEM;
	int fd = bpf_obj_get(chars);

	(*env)->ReleaseStringUTFChars(env, path, chars);
	return fd;
}

static jint bpf_fd_obj_pin(JNIEnv *env, jclass clazz, jint fd, jstring path)
{
	const char *chars = (*env)->GetStringUTFChars(env, path, NULL);

	if (chars == NULL)
		return -ENOMEM;
	int ret = bpf_obj_pin(fd, chars);

	(*env)->ReleaseStringUTFChars(env, path, chars);
	return ret;
}

static const JNINativeMethod bpf_fd_methods[] = {
	{ "objGet0", "(Ljava/lang/String;)I", (void *)bpf_fd_obj_get },
	{ "name0", "(II)Ljava/lang/String;", (void *)bpf_fd_name },
	{ "pin0", "(ILjava/lang/String;)I", (void *)bpf_fd_obj_pin },
};

int vesicle_bpf_onload(JNIEnv *env)
{
	if (vesicle_register_natives(env, VESICLE_PACKAGE "BpfFd", bpf_fd_methods,
				     VESICLE_ARRAY_SIZE(bpf_fd_methods)) < 0 ||
	    vesicle_bpf_object_onload(env) < 0 || vesicle_bpf_map_onload(env) < 0 ||
	    vesicle_bpf_program_onload(env) < 0 || vesicle_bpf_tc_onload(env) < 0 ||
	    vesicle_bpf_ringbuf_onload(env) < 0 ||
	    vesicle_bpf_tcx_onload(env) < 0)
		return -1;
	previous_print = libbpf_set_print(log_print);
	return 0;
}

void vesicle_bpf_onunload(JNIEnv *env)
{
	libbpf_set_print(previous_print);
}
