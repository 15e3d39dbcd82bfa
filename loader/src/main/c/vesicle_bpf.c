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
	    vesicle_bpf_program_onload(env) < 0 || vesicle_bpf_tc_onload(env) < 0)
		return -1;
	previous_print = libbpf_set_print(log_print);
	return 0;
}

void vesicle_bpf_onunload(JNIEnv *env)
{
	libbpf_set_print(previous_print);
}
