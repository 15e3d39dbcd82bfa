/* Natives of io.vesicle.loader.ObjectSpec: a bpf_object from open to load. The handle Java
 * holds is a struct spec *, which also keeps the ELF bytes libbpf was given. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "vesicle_jni.h"
#include "vesicle_bpf.h"
#include "vesicle_fd.h"

struct spec {
	struct bpf_object *obj;
	void *elf;		/* the bytes of an object opened from memory */
	unsigned char *by_name; /* per map: declared with pinning = LIBBPF_PIN_BY_NAME */
};

/* Map and program attributes come in fixed-size records: see ObjectSpec. */
#define MAP_ATTRS 6
#define PROGRAM_ATTRS 1

static struct spec *spec_of(jlong handle)
{
	return (struct spec *)(intptr_t)handle;
}

static int count_maps(struct bpf_object *obj)
{
	struct bpf_map *map;
	int n = 0;

	bpf_object__for_each_map(map, obj)
		n++;
	return n;
}

/* libbpf gives maps pinned by name a path under /sys/fs/bpf at open; that path is the only
 * trace of the declaration, so it is recorded before being cleared: every map starts private
 * and load0 gets the paths ObjectSpec chose. */
static int record_pinning(struct spec *spec)
{
	struct bpf_map *map;
	int i = 0;

	spec->by_name = calloc((size_t)count_maps(spec->obj) + 1, 1);
	if (spec->by_name == NULL)
		return -ENOMEM;
	bpf_object__for_each_map(map, spec->obj) {
		spec->by_name[i++] = bpf_map__pin_path(map) != NULL;
		if (bpf_map__set_pin_path(map, NULL) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void spec_free(struct spec *spec)
{
	bpf_object__close(spec->obj);
	free(spec->by_name);
	free(spec->elf);
	free(spec);
}

static jlong spec_handle(struct bpf_object *obj, void *elf)
{
	int err = -errno;

	if (obj == NULL) {
		free(elf);
		return err ? err : -EINVAL;
	}
	struct spec *spec = calloc(1, sizeof(*spec));

	if (spec == NULL) {
		bpf_object__close(obj);
		free(elf);
		return -ENOMEM;
	}
	spec->obj = obj;
	spec->elf = elf;
	int ret = record_pinning(spec);

	if (ret < 0) {
		spec_free(spec);
		return ret;
	}
	return (jlong)(intptr_t)spec;
}

static jlong object_open_mem(JNIEnv *env, jclass clazz, jstring name, jbyteArray elf)
{
	jsize size = (*env)->GetArrayLength(env, elf);
	void *bytes = malloc(size > 0 ? size : 1);

	if (bytes == NULL)
		return -ENOMEM;
	(*env)->GetByteArrayRegion(env, elf, 0, size, bytes);
	const char *chars = (*env)->GetStringUTFChars(env, name, NULL);

	if (chars == NULL) {
		free(bytes);
		return -ENOMEM;
	}
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = chars);

	vesicle_bpf_log_begin();
	errno = 0;
	struct bpf_object *obj = bpf_object__open_mem(bytes, size, &opts);

	vesicle_bpf_log_end(obj == NULL);
	(*env)->ReleaseStringUTFChars(env, name, chars);
	return spec_handle(obj, bytes);
}

static jlong object_open_file(JNIEnv *env, jclass clazz, jstring path)
{
	const char *chars = (*env)->GetStringUTFChars(env, path, NULL);

	if (chars == NULL)
		return -ENOMEM;
	vesicle_bpf_log_begin();
	errno = 0;
	struct bpf_object *obj = bpf_object__open_file(chars, NULL);

	vesicle_bpf_log_end(obj == NULL);
	(*env)->ReleaseStringUTFChars(env, path, chars);
	return spec_handle(obj, NULL);
}

static jbyteArray object_take_log(JNIEnv *env, jclass clazz)
{
	return vesicle_bpf_log_take(env);
}

static void object_close(JNIEnv *env, jclass clazz, jlong handle)
{
	spec_free(spec_of(handle));
}

static int count_programs(struct bpf_object *obj)
{
	struct bpf_program *prog;
	int n = 0;

	bpf_object__for_each_program(prog, obj)
		n++;
	return n;
}

/* A String[n]; NULL on failure. */
static jobjectArray new_strings(JNIEnv *env, int n)
{
	jclass string = (*env)->FindClass(env, "java/lang/String");

	if (string == NULL)
		return NULL;
	jobjectArray strings = (*env)->NewObjectArray(env, n, string, NULL);

	(*env)->DeleteLocalRef(env, string);
	return strings;
}

/* strings[i] = chars, as vesicle_bpf_string makes it; -1 on failure (NULL chars too). */
static int set_string(JNIEnv *env, jobjectArray strings, int i, const char *chars)
{
	jstring string = vesicle_bpf_string(env, chars);

	if (string == NULL)
		return -1;
	(*env)->SetObjectArrayElement(env, strings, i, string);
	(*env)->DeleteLocalRef(env, string);
	return 0;
}

/* An int[n] holding values, which it frees (each caller allocates them); NULL on failure. */
static jintArray take_ints(JNIEnv *env, jint *values, int n)
{
	jintArray array = (*env)->NewIntArray(env, n);

	if (array != NULL)
		(*env)->SetIntArrayRegion(env, array, 0, n, values);
	free(values);
	return array;
}

/* names[i] for every map, in libbpf's order. */
static jobjectArray object_map_names(JNIEnv *env, jclass clazz, jlong handle)
{
	struct bpf_object *obj = spec_of(handle)->obj;
	jobjectArray names = new_strings(env, count_maps(obj));
	struct bpf_map *map;
	int i = 0;

	if (names == NULL)
		return NULL;
	bpf_object__for_each_map(map, obj) {
		if (set_string(env, names, i++, bpf_map__name(map)) < 0)
			return NULL;
	}
	return names;
}

/* Per map: type, key size, value size, max entries, flags, pinned by name (0/1). */
static jintArray object_map_attrs(JNIEnv *env, jclass clazz, jlong handle)
{
	struct spec *spec = spec_of(handle);
	struct bpf_object *obj = spec->obj;
	int n = count_maps(obj);
	jint *attrs = calloc((size_t)n * MAP_ATTRS + 1, sizeof(jint));

	if (attrs == NULL)
		return NULL;
	struct bpf_map *map;
	jint *at = attrs;
	int i = 0;

	bpf_object__for_each_map(map, obj) {
		*at++ = bpf_map__type(map);
		*at++ = (jint)bpf_map__key_size(map);
		*at++ = (jint)bpf_map__value_size(map);
		*at++ = (jint)bpf_map__max_entries(map);
		*at++ = (jint)bpf_map__map_flags(map);
		*at++ = spec->by_name[i++];
	}
	return take_ints(env, attrs, n * MAP_ATTRS);
}

/* name, section for every program, in libbpf's order. */
static jobjectArray object_program_names(JNIEnv *env, jclass clazz, jlong handle)
{
	struct bpf_object *obj = spec_of(handle)->obj;
	jobjectArray names = new_strings(env, 2 * count_programs(obj));
	struct bpf_program *prog;
	int i = 0;

	if (names == NULL)
		return NULL;
	bpf_object__for_each_program(prog, obj) {
		if (set_string(env, names, i++, bpf_program__name(prog)) < 0 ||
		    set_string(env, names, i++, bpf_program__section_name(prog)) < 0)
			return NULL;
	}
	return names;
}

/* The key and value type names of every map in the object's BTF (see
 * vesicle_btf_type_name), null where a map has none. */
static jobjectArray object_map_type_names(JNIEnv *env, jclass clazz, jlong handle)
{
	struct bpf_object *obj = spec_of(handle)->obj;
	const struct btf *btf = bpf_object__btf(obj);
	jobjectArray names = new_strings(env, 2 * count_maps(obj));
	struct bpf_map *map;
	int i = 0;

	if (names == NULL)
		return NULL;
	bpf_object__for_each_map(map, obj) {
		if (vesicle_btf_set_type_names(env, names, i++, btf, bpf_map__btf_key_type_id(map),
					       bpf_map__btf_value_type_id(map)) < 0)
			return NULL;
	}
	return names;
}

/* Per program: type. */
static jintArray object_program_attrs(JNIEnv *env, jclass clazz, jlong handle)
{
	struct bpf_object *obj = spec_of(handle)->obj;
	int n = count_programs(obj);
	jintArray array = (*env)->NewIntArray(env, n * PROGRAM_ATTRS);
	struct bpf_program *prog;
	int i = 0;

	bpf_object__for_each_program(prog, obj) {
		if (array == NULL)
			break;
		jint type = bpf_program__type(prog);

		(*env)->SetIntArrayRegion(env, array, i++, 1, &type);
	}
	return array;
}

/* Finds a variable of the object's .rodata: its offset and size in the section, and the
 * section's internal map. Returns 0, -ENOENT (no such variable) or -ENODATA (no .rodata). */
static int find_rodata_var(struct bpf_object *obj, const char *name, struct bpf_map **map,
			   __u32 *offset, __u32 *size)
{
	struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *m;

	*map = NULL;
	bpf_object__for_each_map(m, obj) {
		const char *map_name = bpf_map__name(m);
		size_t len = strlen(map_name);

		/* libbpf names it "<object prefix>.rodata". */
		if (bpf_map__is_internal(m) && len >= 7 && strcmp(map_name + len - 7, ".rodata") == 0)
			*map = m;
	}
	if (btf == NULL || *map == NULL)
		return -ENODATA;
	int id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);

	if (id < 0)
		return -ENODATA;
	const struct btf_type *sec = btf__type_by_id(btf, id);
	const struct btf_var_secinfo *var = btf_var_secinfos(sec);

	for (int i = 0; i < btf_vlen(sec); i++, var++) {
		const struct btf_type *type = btf__type_by_id(btf, var->type);

		if (type == NULL || !btf_is_var(type))
			continue;
		if (strcmp(btf__name_by_offset(btf, type->name_off), name) == 0) {
			*offset = var->offset;
			*size = var->size;
			return 0;
		}
	}
	return -ENOENT;
}

/* find_rodata_var for a Java name; -ENOMEM when it cannot be read. */
static int find_constant(JNIEnv *env, jlong handle, jstring name, struct bpf_map **map,
			 __u32 *offset, __u32 *size)
{
	const char *chars = (*env)->GetStringUTFChars(env, name, NULL);

	if (chars == NULL)
		return -ENOMEM;
	int ret = find_rodata_var(spec_of(handle)->obj, chars, map, offset, size);

	(*env)->ReleaseStringUTFChars(env, name, chars);
	return ret;
}

static jint object_constant_size(JNIEnv *env, jclass clazz, jlong handle, jstring name)
{
	struct bpf_map *map;
	__u32 offset, size;
	int ret = find_constant(env, handle, name, &map, &offset, &size);

	return ret < 0 ? ret : (jint)size;
}

/* Java has checked the size and that the object is not loaded (then .rodata is frozen). */
static jint object_set_constant(JNIEnv *env, jclass clazz, jlong handle, jstring name,
				jbyteArray value)
{
	struct bpf_map *map;
	__u32 offset, size;
	int ret = find_constant(env, handle, name, &map, &offset, &size);

	if (ret < 0)
		return ret;
	/* libbpf 1.1 hands out the section read-only: change a copy and set it whole. */
	size_t section_size;
	const void *data = bpf_map__initial_value(map, &section_size);

	if (data == NULL || (size_t)offset + size > section_size ||
	    (*env)->GetArrayLength(env, value) != (jsize)size)
		return -EINVAL;
	char *copy = malloc(section_size);

	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, data, section_size);
	(*env)->GetByteArrayRegion(env, value, 0, (jsize)size, (jbyte *)(copy + offset));
	ret = bpf_map__set_initial_value(map, copy, section_size);
	free(copy);
	return ret;
}

/* The struct the object's BTF calls name; NULL when there is none (or no BTF). */
static const struct btf_type *find_struct(JNIEnv *env, struct bpf_object *obj, jstring name)
{
	struct btf *btf = bpf_object__btf(obj);
	const char *chars = btf ? (*env)->GetStringUTFChars(env, name, NULL) : NULL;

	if (chars == NULL)
		return NULL;
	int id = btf__find_by_name_kind(btf, chars, BTF_KIND_STRUCT);

	(*env)->ReleaseStringUTFChars(env, name, chars);
	return id < 0 ? NULL : btf__type_by_id(btf, id);
}

/* size, then offset and size of each member (bytes; a bitfield gives its byte and its
 * underlying type's size); null when the BTF has no such struct. */
static jintArray object_btf_struct(JNIEnv *env, jclass clazz, jlong handle, jstring name)
{
	struct bpf_object *obj = spec_of(handle)->obj;
	const struct btf_type *type = find_struct(env, obj, name);

	if (type == NULL)
		return NULL;
	struct btf *btf = bpf_object__btf(obj);
	int n = btf_vlen(type);
	jint *layout = calloc(1 + 2 * (size_t)n, sizeof(jint));

	if (layout == NULL)
		return NULL;
	const struct btf_member *member = btf_members(type);

	layout[0] = (jint)type->size;
	for (int i = 0; i < n; i++, member++) {
		__s64 size = btf__resolve_size(btf, member->type);

		layout[1 + 2 * i] = (jint)(btf_member_bit_offset(type, i) / 8);
		layout[2 + 2 * i] = size < 0 ? -1 : (jint)size;
	}
	return take_ints(env, layout, 1 + 2 * n);
}

/* Member names of the struct ("" for an anonymous union or struct); null when unknown. */
static jobjectArray object_btf_struct_members(JNIEnv *env, jclass clazz, jlong handle,
					      jstring name)
{
	struct bpf_object *obj = spec_of(handle)->obj;
	const struct btf_type *type = find_struct(env, obj, name);
	jobjectArray names = type ? new_strings(env, btf_vlen(type)) : NULL;

	if (names == NULL)
		return NULL;
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_member *member = btf_members(type);

	for (int i = 0; i < btf_vlen(type); i++, member++) {
		if (set_string(env, names, i, btf__name_by_offset(btf, member->name_off)) < 0)
			return NULL;
	}
	return names;
}

/* pin_paths[i] is where map i is to be pinned, or null for a private map; reuse_fds[i] >= 0 is
 * a pinned map Java has checked, used as it is (and not opened again by path, so what was
 * checked is what is used). */
static jint object_load(JNIEnv *env, jclass clazz, jlong handle, jobjectArray pin_paths,
			jintArray reuse_fds)
{
	struct bpf_object *obj = spec_of(handle)->obj;
	int n = count_maps(obj);
	jint *reuse = calloc((size_t)n + 1, sizeof(jint));
	struct bpf_map *map;
	int i = 0;
	int ret = 0;

	if (reuse == NULL)
		return -ENOMEM;
	(*env)->GetIntArrayRegion(env, reuse_fds, 0, n, reuse);
	bpf_object__for_each_map(map, obj) {
		jstring path = (*env)->GetObjectArrayElement(env, pin_paths, i);
		const char *chars = path ? (*env)->GetStringUTFChars(env, path, NULL) : NULL;

		if (path != NULL && chars == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		ret = reuse[i] >= 0 ? bpf_map__reuse_fd(map, reuse[i]) : bpf_map__set_pin_path(map, chars);
		if (chars != NULL)
			(*env)->ReleaseStringUTFChars(env, path, chars);
		(*env)->DeleteLocalRef(env, path);
		if (ret < 0)
			goto out;
		i++;
	}
	vesicle_bpf_log_begin();
	ret = bpf_object__load(obj);
	vesicle_bpf_log_end(ret < 0);
out:
	free(reuse);
	return ret;
}

/* After load: a descriptor of each map, then of each program, duplicated so that each Java
 * handle owns its own; -errno in place of one that failed. */
static jintArray object_dup_fds(JNIEnv *env, jclass clazz, jlong handle)
{
	struct bpf_object *obj = spec_of(handle)->obj;
	int n = count_maps(obj) + count_programs(obj);
	jint *fds = calloc((size_t)n + 1, sizeof(jint));

	if (fds == NULL)
		return NULL;
	struct bpf_map *map;
	struct bpf_program *prog;
	int i = 0;

	bpf_object__for_each_map(map, obj)
		fds[i++] = vesicle_dup_fd(bpf_map__fd(map));
	bpf_object__for_each_program(prog, obj)
		fds[i++] = vesicle_dup_fd(bpf_program__fd(prog));
	return take_ints(env, fds, n);
}

static const JNINativeMethod object_methods[] = {
	{ "openMem0", "(Ljava/lang/String;[B)J", (void *)object_open_mem },
	{ "openFile0", "(Ljava/lang/String;)J", (void *)object_open_file },
	{ "takeLog0", "()[B", (void *)object_take_log },
	{ "close0", "(J)V", (void *)object_close },
	{ "mapNames0", "(J)[Ljava/lang/String;", (void *)object_map_names },
	{ "mapAttrs0", "(J)[I", (void *)object_map_attrs },
	{ "programNames0", "(J)[Ljava/lang/String;", (void *)object_program_names },
	{ "programAttrs0", "(J)[I", (void *)object_program_attrs },
	{ "constantSize0", "(JLjava/lang/String;)I", (void *)object_constant_size },
	{ "setConstant0", "(JLjava/lang/String;[B)I", (void *)object_set_constant },
	{ "btfStruct0", "(JLjava/lang/String;)[I", (void *)object_btf_struct },
	{ "btfStructMembers0", "(JLjava/lang/String;)[Ljava/lang/String;",
	  (void *)object_btf_struct_members },
	{ "mapTypeNames0", "(J)[Ljava/lang/String;", (void *)object_map_type_names },
	{ "load0", "(J[Ljava/lang/String;[I)I", (void *)object_load },
	{ "dupFds0", "(J)[I", (void *)object_dup_fds },
};

int vesicle_bpf_object_onload(JNIEnv *env)
{
	return vesicle_register_natives(env, VESICLE_PACKAGE "ObjectSpec", object_methods,
					VESICLE_ARRAY_SIZE(object_methods));
}
