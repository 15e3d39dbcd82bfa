/* Shared parts of the libbpf natives (vesicle_bpf_*.c): libbpf's messages captured per
 * thread, strings for Java, and the info of a map's or program's fd. */
#ifndef VESICLE_BPF_H
#define VESICLE_BPF_H

#include <jni.h>
#include <stddef.h>
#include <linux/types.h>

struct btf;

/* Each libbpf topic registers one Java class's natives; 0, or -1 with an exception pending. */
int vesicle_bpf_object_onload(JNIEnv *env);
int vesicle_bpf_map_onload(JNIEnv *env);
int vesicle_bpf_program_onload(JNIEnv *env);
int vesicle_bpf_tc_onload(JNIEnv *env);
int vesicle_bpf_ringbuf_onload(JNIEnv *env);
int vesicle_bpf_tcx_onload(JNIEnv *env);

/* Capture libbpf's warnings and infos (the verifier log among them) on this thread until
 * vesicle_bpf_log_end(). keep = 0 discards the text; otherwise it waits for
 * vesicle_bpf_log_take(). Outside a capture, libbpf's messages go to stderr as by default. */
void vesicle_bpf_log_begin(void);
void vesicle_bpf_log_end(int keep);
/* The text kept by the last capture on this thread as UTF-8 bytes (empty if none); frees it. */
jbyteArray vesicle_bpf_log_take(JNIEnv *env);

/* A Java string for a C string from libbpf or an ELF file: bytes outside printable ASCII
 * become '?', so that corrupt input can never make invalid modified UTF-8. */
jstring vesicle_bpf_string(JNIEnv *env, const char *chars);

/* Fills info, a struct bpf_map_info or bpf_prog_info of len bytes, for fd, a BPF object of
 * the kind ("bpf-map", "bpf-prog"). 0, -errno, or -EBADF when fd is no object of the kind. */
int vesicle_bpf_info(int fd, const char *kind, void *info, __u32 len);

/* The name of BTF type id as map checks compare it, in buf: modifiers and typedefs resolved
 * ("struct endpoint_key", "unsigned int"; an anonymous struct by the typedef naming it),
 * arrays as "elem[n]". An empty string for id 0 (no type). */
void vesicle_btf_type_name(const struct btf *btf, __u32 id, char *buf, size_t len);

/* names[2 * i] and names[2 * i + 1] = the key and value type names (null for none). -1 with an
 * exception pending on failure. */
int vesicle_btf_set_type_names(JNIEnv *env, jobjectArray names, int i, const struct btf *btf,
			       __u32 key_type_id, __u32 value_type_id);

#endif
