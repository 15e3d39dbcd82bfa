/* Natives of io.vesicle.loader.Netlink: the per-operation socket, error translation and the
 * one method table. Links are in vesicle_netlink_link.c; addresses, routes and neighbours in
 * vesicle_netlink_ip.c. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/socket.h>

#include "vesicle_jni.h"
#include "vesicle_netlink.h"
#include "vesicle_netns.h"

#define NETLINK_CLASS VESICLE_PACKAGE "Netlink"
#define REPLY_CLASS NETLINK_CLASS "$Reply"

struct vesicle_nl_reply vesicle_nl_reply;
/* Keeps Netlink$Reply, whose method IDs are cached, from being unloaded. */
static jclass reply_class;

int vesicle_netlink_errno(int nle)
{
	switch (-nle) {
	case 0:
		return 0;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:
		return -ENODEV;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_NOADDR:
		return -EADDRNOTAVAIL;
	case NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

/* Records the kernel's errno and extended ack message, then stops receiving (libnl returns
 * its own translation, which vesicle_nl_check replaces with the recorded errno). */
static int nl_error_handler(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct vesicle_nl *nl = arg;
	struct nlmsghdr *hdr = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);

	nl->kernel_errno = -e->error;
	nl->kernel_message[0] = '\0';
	if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	/* TLVs follow the error and, unless capped, the echoed request's payload. */
	size_t offset = NLMSG_ALIGN(sizeof(*e));

	if (!(hdr->nlmsg_flags & NLM_F_CAPPED))
		offset += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
	size_t payload = hdr->nlmsg_len - NLMSG_HDRLEN;

	if (offset >= payload)
		return NL_STOP;
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)e + offset),
		      (int)(payload - offset), NULL) == 0 &&
	    tb[NLMSGERR_ATTR_MSG])
		nla_strlcpy(nl->kernel_message, tb[NLMSGERR_ATTR_MSG], sizeof(nl->kernel_message));
	return NL_STOP;
}

/* Frees the socket (if any) and returns to the thread's namespace. */
static void nl_release(struct vesicle_nl *nl)
{
	nl_socket_free(nl->sk);
	nl->sk = NULL;
	vesicle_netns_leave(nl->saved_ns);
}

int vesicle_nl_open(struct vesicle_nl *nl, int ns_fd)
{
	int one = 1;
	int ret;

	memset(nl, 0, sizeof(*nl));
	ret = vesicle_netns_enter(ns_fd, &nl->saved_ns);
	if (ret < 0)
		return ret;
	nl->sk = nl_socket_alloc();
	if (nl->sk == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = nl_connect(nl->sk, NETLINK_ROUTE);
	if (ret < 0) {
		ret = vesicle_netlink_errno(ret);
		goto fail;
	}
	/* The kernel's text explains an EINVAL better than any errno; best effort. */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	ret = nl_socket_modify_err_cb(nl->sk, NL_CB_CUSTOM, nl_error_handler, nl);
	if (ret < 0) {
		ret = vesicle_netlink_errno(ret);
		goto fail;
	}
	return 0;

fail:
	nl_release(nl);
	return ret;
}

int vesicle_nl_check(struct vesicle_nl *nl, int ret)
{
	int kernel_errno = nl->kernel_errno;

	nl->kernel_errno = 0;
	if (ret >= 0) {
		nl->kernel_message[0] = '\0';
		return 0;
	}
	return kernel_errno > 0 ? -kernel_errno : vesicle_netlink_errno(ret);
}

int vesicle_nl_close(JNIEnv *env, struct vesicle_nl *nl, jobject reply, int ret)
{
	nl_release(nl);
	if (ret < 0 && nl->kernel_message[0] != '\0') {
		jstring message = (*env)->NewStringUTF(env, nl->kernel_message);

		if (message != NULL) {
			(*env)->CallVoidMethod(env, reply, vesicle_nl_reply.kernel_message, message);
			(*env)->DeleteLocalRef(env, message);
		}
	}
	return ret;
}

int vesicle_nl_list(JNIEnv *env, int ns_fd, jobject reply, vesicle_nl_dump dump,
		    vesicle_nl_report report, int ifindex)
{
	struct nl_cache *cache = NULL;
	struct vesicle_nl nl;
	int ret = vesicle_nl_open(&nl, ns_fd);

	if (ret < 0)
		return ret;
	ret = vesicle_nl_check(&nl, dump(nl.sk, &cache));
	ret = vesicle_nl_close(env, &nl, reply, ret);
	if (ret < 0)
		return ret;
	for (struct nl_object *obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
		if (report(env, reply, obj, ifindex) < 0) {
			ret = -ENOMEM;
			break;
		}
	}
	nl_cache_free(cache);
	return ret;
}

int vesicle_nl_name(JNIEnv *env, jstring name, char out[IFNAMSIZ])
{
	jsize len = (*env)->GetStringUTFLength(env, name);

	if (len <= 0 || len >= IFNAMSIZ)
		return -EINVAL;
	(*env)->GetStringUTFRegion(env, name, 0, (*env)->GetStringLength(env, name), out);
	out[len] = '\0';
	return (*env)->ExceptionCheck(env) ? -EINVAL : 0;
}

struct nl_addr *vesicle_nl_addr(JNIEnv *env, jbyteArray bytes, int prefixlen, int *err)
{
	unsigned char buf[16];
	struct nl_addr *addr;
	int family;

	*err = 0;
	if (bytes == NULL)
		return NULL;
	jsize len = (*env)->GetArrayLength(env, bytes);

	switch (len) {
	case 4:
		family = AF_INET;
		break;
	case 6:
		family = AF_LLC;
		break;
	case 16:
		family = AF_INET6;
		break;
	default:
		*err = -EINVAL;
		return NULL;
	}
	(*env)->GetByteArrayRegion(env, bytes, 0, len, (jbyte *)buf);
	addr = nl_addr_build(family, buf, len);
	if (addr == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	if (family != AF_LLC)
		nl_addr_set_prefixlen(addr, prefixlen);
	return addr;
}

jbyteArray vesicle_nl_bytes(JNIEnv *env, struct nl_addr *addr)
{
	jsize len = addr ? (jsize)nl_addr_get_len(addr) : 0;
	jbyteArray bytes = (*env)->NewByteArray(env, len);

	if (bytes != NULL && len > 0)
		(*env)->SetByteArrayRegion(env, bytes, 0, len, nl_addr_get_binary_addr(addr));
	return bytes;
}

static const JNINativeMethod netlink_methods[] = {
	{ "createVeth0", "(ILjava/lang/String;Ljava/lang/String;II[B" "L" REPLY_CLASS ";)I",
	  (void *)vesicle_netlink_create_veth },
	{ "createVxlan0", "(ILjava/lang/String;IIL" REPLY_CLASS ";)I",
	  (void *)vesicle_netlink_create_vxlan },
	{ "vxlan0", "(ILjava/lang/String;[IL" REPLY_CLASS ";)I", (void *)vesicle_netlink_vxlan },
	{ "link0", "(IILjava/lang/String;L" REPLY_CLASS ";)I", (void *)vesicle_netlink_link },
	{ "links0", "(IL" REPLY_CLASS ";)I", (void *)vesicle_netlink_links },
	{ "setUp0", "(IIZL" REPLY_CLASS ";)I", (void *)vesicle_netlink_set_up },
	{ "setFlag0", "(IIIZL" REPLY_CLASS ";)I", (void *)vesicle_netlink_set_flag },
	{ "setMtu0", "(IIIL" REPLY_CLASS ";)I", (void *)vesicle_netlink_set_mtu },
	{ "setMac0", "(II[BL" REPLY_CLASS ";)I", (void *)vesicle_netlink_set_mac },
	{ "moveToNamespace0", "(IIILjava/lang/String;L" REPLY_CLASS ";)I",
	  (void *)vesicle_netlink_move },
	{ "deleteLink0", "(IILjava/lang/String;L" REPLY_CLASS ";)I",
	  (void *)vesicle_netlink_delete_link },
	{ "addAddress0", "(II[BIL" REPLY_CLASS ";)I", (void *)vesicle_netlink_add_address },
	{ "addresses0", "(IIL" REPLY_CLASS ";)I", (void *)vesicle_netlink_addresses },
	{ "addRoute0", "(I[BI[BIIZII[BZL" REPLY_CLASS ";)I", (void *)vesicle_netlink_add_route },
	{ "deleteRoute0", "(I[BI[BIIL" REPLY_CLASS ";)I", (void *)vesicle_netlink_delete_route },
	{ "routes0", "(IIL" REPLY_CLASS ";)I", (void *)vesicle_netlink_routes },
	{ "addNeighbour0", "(I[B[BIZL" REPLY_CLASS ";)I", (void *)vesicle_netlink_add_neighbour },
	{ "deleteNeighbour0", "(II[BL" REPLY_CLASS ";)I",
	  (void *)vesicle_netlink_delete_neighbour },
	{ "neighbours0", "(IIL" REPLY_CLASS ";)I", (void *)vesicle_netlink_neighbours },
};

int vesicle_netlink_onload(JNIEnv *env)
{
	jclass reply = (*env)->FindClass(env, REPLY_CLASS);

	if (reply == NULL)
		return -1;
	vesicle_nl_reply.link = (*env)->GetMethodID(env, reply, "link",
						    "(ILjava/lang/String;[BIZLjava/lang/String;)V");
	if (vesicle_nl_reply.link == NULL)
		goto fail;
	vesicle_nl_reply.address = (*env)->GetMethodID(env, reply, "address", "([BII)V");
	if (vesicle_nl_reply.address == NULL)
		goto fail;
	vesicle_nl_reply.route = (*env)->GetMethodID(env, reply, "route", "([BI[BIIZII[B)V");
	if (vesicle_nl_reply.route == NULL)
		goto fail;
	vesicle_nl_reply.neighbour = (*env)->GetMethodID(env, reply, "neighbour", "([B[BIZ)V");
	if (vesicle_nl_reply.neighbour == NULL)
		goto fail;
	vesicle_nl_reply.kernel_message = (*env)->GetMethodID(env, reply, "kernelMessage",
							      "(Ljava/lang/String;)V");
	if (vesicle_nl_reply.kernel_message == NULL)
		goto fail;
	if (vesicle_register_natives(env, NETLINK_CLASS, netlink_methods,
				     VESICLE_ARRAY_SIZE(netlink_methods)) < 0)
		goto fail;
	reply_class = (*env)->NewGlobalRef(env, reply);
	if (reply_class == NULL)
		goto fail;
	(*env)->DeleteLocalRef(env, reply);
	return 0;
fail:
	(*env)->DeleteLocalRef(env, reply);
	return -1;
}

void vesicle_netlink_onunload(JNIEnv *env)
{
	if (reply_class != NULL) {
		(*env)->DeleteGlobalRef(env, reply_class);
		reply_class = NULL;
	}
	memset(&vesicle_nl_reply, 0, sizeof(vesicle_nl_reply));
}
