/* Placeholder until the netlink natives land. */
#include "vesicle_jni.h"

int vesicle_netlink_onload(JNIEnv *env)
{
	return 0;
}

void vesicle_netlink_onunload(JNIEnv *env)
{
}
