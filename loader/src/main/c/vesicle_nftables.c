/* Natives of io.vesicle.loader.Nftables: one libnftables context per call, created, used and
 * freed inside the target namespace (its netlink socket is bound to the namespace it was opened
 * in), with nft's output and error text captured for Java. */
#include <errno.h>
#include <nftables/libnftables.h>

#include "vesicle_jni.h"
#include "vesicle_netns.h"

/* Indexes of the String[2] run0 fills. */
enum { TEXT_OUTPUT, TEXT_ERROR };

static int set_text(JNIEnv *env, jobjectArray texts, int index, const char *text)
{
	jstring s = (*env)->NewStringUTF(env, text ? text : "");

	if (s == NULL)
		return -1;
	(*env)->SetObjectArrayElement(env, texts, index, s);
	(*env)->DeleteLocalRef(env, s);
	return (*env)->ExceptionCheck(env) ? -1 : 0;
}

/* Runs commands (nft syntax, one transaction) in ns_fd. 0 when nft accepted them, 1 when it
 * refused them (texts[TEXT_ERROR] says why), -errno when it could not start. */
static jint nftables_run(JNIEnv *env, jclass clazz, jint ns_fd, jstring commands,
			 jobjectArray texts)
{
	const char *buf = (*env)->GetStringUTFChars(env, commands, NULL);
	struct nft_ctx *ctx = NULL;
	int saved, ret;

	if (buf == NULL)
		return -ENOMEM;
	ret = vesicle_netns_enter(ns_fd, &saved);
	if (ret < 0)
		goto out;
	ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (ctx == NULL || nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
		ret = -ENOMEM;
	} else {
		ret = nft_run_cmd_from_buffer(ctx, buf) == 0 ? 0 : 1;
	}
	vesicle_netns_leave(saved);
	/* Back in the thread's namespace before Java runs again. */
	if (ret >= 0 && (set_text(env, texts, TEXT_OUTPUT, nft_ctx_get_output_buffer(ctx)) < 0 ||
			 set_text(env, texts, TEXT_ERROR, nft_ctx_get_error_buffer(ctx)) < 0))
		ret = -ENOMEM;
out:
	if (ctx)
		nft_ctx_free(ctx);
	(*env)->ReleaseStringUTFChars(env, commands, buf);
	return ret;
}

static const JNINativeMethod nftables_methods[] = {
	{ "run0", "(ILjava/lang/String;[Ljava/lang/String;)I", (void *)nftables_run },
};

int vesicle_nftables_onload(JNIEnv *env)
{
	return vesicle_register_natives(env, VESICLE_PACKAGE "Nftables", nftables_methods,
					VESICLE_ARRAY_SIZE(nftables_methods));
}
