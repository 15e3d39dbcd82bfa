/* Placeholder until the bpf natives land. */
#include "vesicle_jni.h"

int vesicle_bpf_onload(JNIEnv *env)
{
	return 0;
}

void vesicle_bpf_onunload(JNIEnv *env)
{
}
