/* Netlink natives on links: veth pairs, lookups, state changes, moves and deletes. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <net/if.h>
#include <netlink/cache.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vxlan.h>

#include "vesicle_netlink.h"

/* Hands one link to the reply; -1 with a pending exception. */
static int report_link(JNIEnv *env, jobject reply, struct rtnl_link *link)
{
	const char *type = rtnl_link_get_type(link);
	const char *name = rtnl_link_get_name(link);
	jstring jname = (*env)->NewStringUTF(env, name ? name : "");
	jstring kind = jname ? (*env)->NewStringUTF(env, type ? type : "") : NULL;
	jbyteArray mac = kind ? vesicle_nl_bytes(env, rtnl_link_get_addr(link)) : NULL;

	if (mac != NULL)
		(*env)->CallVoidMethod(env, reply, vesicle_nl_reply.link, rtnl_link_get_ifindex(link),
				       jname, mac, (jint)rtnl_link_get_mtu(link),
				       (jboolean)((rtnl_link_get_flags(link) & IFF_UP) != 0), kind);
	if (mac)
		(*env)->DeleteLocalRef(env, mac);
	if (kind)
		(*env)->DeleteLocalRef(env, kind);
	if (jname)
		(*env)->DeleteLocalRef(env, jname);
	return (*env)->ExceptionCheck(env) ? -1 : 0;
}

jint vesicle_netlink_create_veth(JNIEnv *env, jclass clazz, jint ns_fd, jstring name,
				 jstring peer_name, jint peer_ns_fd, jint mtu, jbyteArray peer_mac,
				 jobject reply)
{
	char ifname[IFNAMSIZ], peername[IFNAMSIZ];
	struct rtnl_link *link = NULL, *peer = NULL, *created = NULL;
	struct nl_addr *mac = NULL;
	struct vesicle_nl nl;
	int ret;

	ret = vesicle_nl_name(env, name, ifname);
	if (ret == 0)
		ret = vesicle_nl_name(env, peer_name, peername);
	if (ret == 0)
		mac = vesicle_nl_addr(env, peer_mac, 0, &ret);
	if (ret < 0)
		return ret;
	link = rtnl_link_veth_alloc();
	if (link == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	peer = rtnl_link_veth_get_peer(link);
	rtnl_link_set_name(link, ifname);
	rtnl_link_set_name(peer, peername);
	if (mtu > 0) {
		rtnl_link_set_mtu(link, mtu);
		rtnl_link_set_mtu(peer, mtu);
	}
	if (mac != NULL)
		rtnl_link_set_addr(peer, mac);
	/* The peer is born in its namespace with its final name: never visible half-moved. */
	if (peer_ns_fd >= 0)
		rtnl_link_set_ns_fd(peer, peer_ns_fd);

	ret = vesicle_nl_open(&nl, ns_fd);
	if (ret < 0)
		goto out;
	ret = vesicle_nl_check(&nl, rtnl_link_add(nl.sk, link, NLM_F_CREATE | NLM_F_EXCL));
	if (ret == 0)
		ret = vesicle_nl_check(&nl, rtnl_link_get_kernel(nl.sk, 0, ifname, &created));
	ret = vesicle_nl_close(env, &nl, reply, ret);
	if (ret == 0 && report_link(env, reply, created) < 0)
		ret = -ENOMEM;
out:
	if (created)
		rtnl_link_put(created);
	if (peer)
		rtnl_link_put(peer);  /* our reference; the link holds its own */
	if (link)
		rtnl_link_put(link);
	if (mac)
		nl_addr_put(mac);
	return ret;
}

jint vesicle_netlink_create_vxlan(JNIEnv *env, jclass clazz, jint ns_fd, jstring name,
				  jint dst_port, jint mtu, jobject reply)
{
	char ifname[IFNAMSIZ];
	struct rtnl_link *link, *created = NULL;
	struct vesicle_nl nl;
	int ret = vesicle_nl_name(env, name, ifname);

	if (ret < 0)
		return ret;
	link = rtnl_link_vxlan_alloc();
	if (link == NULL)
		return -ENOMEM;
	rtnl_link_set_name(link, ifname);
	if (mtu > 0)
		rtnl_link_set_mtu(link, mtu);
	/* External mode: no VNI or remote of its own; BPF sets both per packet (tunnel key). */
	ret = vesicle_netlink_errno(rtnl_link_vxlan_set_collect_metadata(link, 1));
	if (ret == 0)
		ret = vesicle_netlink_errno(rtnl_link_vxlan_set_port(link, (uint32_t)dst_port));
	if (ret == 0)
		ret = vesicle_netlink_errno(rtnl_link_vxlan_set_learning(link, 0));
	if (ret == 0)
		ret = vesicle_nl_open(&nl, ns_fd);
	if (ret < 0)
		goto out;
	ret = vesicle_nl_check(&nl, rtnl_link_add(nl.sk, link, NLM_F_CREATE | NLM_F_EXCL));
	if (ret == 0)
		ret = vesicle_nl_check(&nl, rtnl_link_get_kernel(nl.sk, 0, ifname, &created));
	ret = vesicle_nl_close(env, &nl, reply, ret);
	if (ret == 0 && report_link(env, reply, created) < 0)
		ret = -ENOMEM;
out:
	if (created)
		rtnl_link_put(created);
	rtnl_link_put(link);
	return ret;
}

/* What vxlan0 fills, in this order; see Netlink.Vxlan. */
enum { VXLAN_PORT, VXLAN_COLLECT_METADATA, VXLAN_LEARNING, VXLAN_LEN };

jint vesicle_netlink_vxlan(JNIEnv *env, jclass clazz, jint ns_fd, jstring name, jintArray out,
			   jobject reply)
{
	char ifname[IFNAMSIZ];
	struct rtnl_link *link = NULL;
	struct vesicle_nl nl;
	uint32_t port = 0;
	int ret = vesicle_nl_name(env, name, ifname);

	if (ret < 0)
		return ret;
	ret = vesicle_nl_open(&nl, ns_fd);
	if (ret < 0)
		return ret;
	ret = vesicle_nl_check(&nl, rtnl_link_get_kernel(nl.sk, 0, ifname, &link));
	ret = vesicle_nl_close(env, &nl, reply, ret);
	if (ret < 0)
		goto out;
	if (!rtnl_link_is_vxlan(link)) {
		ret = -EMEDIUMTYPE;
		goto out;
	}
	rtnl_link_vxlan_get_port(link, &port);
	jint values[VXLAN_LEN] = {
		[VXLAN_PORT] = (jint)port,
		[VXLAN_COLLECT_METADATA] = rtnl_link_vxlan_get_collect_metadata(link) > 0,
		[VXLAN_LEARNING] = rtnl_link_vxlan_get_learning(link) > 0,
	};

	(*env)->SetIntArrayRegion(env, out, 0, VXLAN_LEN, values);
	if (report_link(env, reply, link) < 0)
		ret = -ENOMEM;
out:
	if (link)
		rtnl_link_put(link);
	return ret;
}

jint vesicle_netlink_link(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jstring name,
			  jobject reply)
{
	char ifname[IFNAMSIZ];
	struct rtnl_link *link = NULL;
	struct vesicle_nl nl;
	int ret = name ? vesicle_nl_name(env, name, ifname) : 0;

	if (ret < 0)
		return ret;
	ret = vesicle_nl_open(&nl, ns_fd);
	if (ret < 0)
		return ret;
	ret = vesicle_nl_check(&nl, rtnl_link_get_kernel(nl.sk, ifindex, name ? ifname : NULL,
							  &link));
	ret = vesicle_nl_close(env, &nl, reply, ret);
	if (ret == 0 && report_link(env, reply, link) < 0)
		ret = -ENOMEM;
	if (link)
		rtnl_link_put(link);
	return ret;
}

static int dump_links(struct nl_sock *sk, struct nl_cache **cache)
{
	return rtnl_link_alloc_cache(sk, AF_UNSPEC, cache);
}

static int report_each_link(JNIEnv *env, jobject reply, struct nl_object *obj, int ifindex)
{
	return report_link(env, reply, (struct rtnl_link *)obj);
}

jint vesicle_netlink_links(JNIEnv *env, jclass clazz, jint ns_fd, jobject reply)
{
	return vesicle_nl_list(env, ns_fd, reply, dump_links, report_each_link, 0);
}

/* Applies changes to the link with ifindex (RTM_NEWLINK, RTM_SETLINK on old kernels);
 * consumes changes. */
static int change_link(JNIEnv *env, int ns_fd, int ifindex, struct rtnl_link *changes,
		       jobject reply)
{
	struct rtnl_link *orig = rtnl_link_alloc();
	struct vesicle_nl nl;
	int ret;

	if (orig == NULL) {
		rtnl_link_put(changes);
		return -ENOMEM;
	}
	rtnl_link_set_ifindex(orig, ifindex);
	ret = vesicle_nl_open(&nl, ns_fd);
	if (ret == 0) {
		ret = vesicle_nl_check(&nl, rtnl_link_change(nl.sk, orig, changes, 0));
		ret = vesicle_nl_close(env, &nl, reply, ret);
	}
	rtnl_link_put(orig);
	rtnl_link_put(changes);
	return ret;
}

jint vesicle_netlink_set_flag(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jint flag,
			      jboolean on, jobject reply)
{
	struct rtnl_link *changes = rtnl_link_alloc();

	if (changes == NULL)
		return -ENOMEM;
	if (on)
		rtnl_link_set_flags(changes, (unsigned int)flag);
	else
		rtnl_link_unset_flags(changes, (unsigned int)flag);
	return change_link(env, ns_fd, ifindex, changes, reply);
}

jint vesicle_netlink_set_up(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jboolean up,
			    jobject reply)
{
	return vesicle_netlink_set_flag(env, clazz, ns_fd, ifindex, IFF_UP, up, reply);
}

jint vesicle_netlink_set_mtu(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jint mtu,
			     jobject reply)
{
	struct rtnl_link *changes = rtnl_link_alloc();

	if (changes == NULL)
		return -ENOMEM;
	rtnl_link_set_mtu(changes, mtu);
	return change_link(env, ns_fd, ifindex, changes, reply);
}

jint vesicle_netlink_set_mac(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex,
			     jbyteArray mac, jobject reply)
{
	int ret;
	struct nl_addr *addr = vesicle_nl_addr(env, mac, 0, &ret);
	struct rtnl_link *changes;

	if (addr == NULL)
		return ret < 0 ? ret : -EINVAL;
	changes = rtnl_link_alloc();
	if (changes == NULL) {
		nl_addr_put(addr);
		return -ENOMEM;
	}
	rtnl_link_set_addr(changes, addr);
	nl_addr_put(addr);
	return change_link(env, ns_fd, ifindex, changes, reply);
}

jint vesicle_netlink_move(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jint target_fd,
			  jstring new_name, jobject reply)
{
	char ifname[IFNAMSIZ];
	struct rtnl_link *changes;
	int own = -1;
	int ret = new_name ? vesicle_nl_name(env, new_name, ifname) : 0;

	if (ret < 0)
		return ret;
	if (target_fd < 0) {
		/* Back to the caller's namespace: name it by fd before entering another. */
		own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (own < 0)
			return -errno;
		target_fd = own;
	}
	changes = rtnl_link_alloc();
	if (changes == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	rtnl_link_set_ns_fd(changes, target_fd);
	/* With IFLA_NET_NS_FD, IFLA_IFNAME is the name in the target namespace: one step. */
	if (new_name)
		rtnl_link_set_name(changes, ifname);
	ret = change_link(env, ns_fd, ifindex, changes, reply);
out:
	if (own >= 0)
		close(own);
	return ret;
}

jint vesicle_netlink_delete_link(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex,
				 jstring name, jobject reply)
{
	char ifname[IFNAMSIZ];
	struct rtnl_link *link;
	struct vesicle_nl nl;
	int ret = name ? vesicle_nl_name(env, name, ifname) : 0;

	if (ret < 0)
		return ret;
	link = rtnl_link_alloc();
	if (link == NULL)
		return -ENOMEM;
	if (ifindex > 0)
		rtnl_link_set_ifindex(link, ifindex);
	if (name)
		rtnl_link_set_name(link, ifname);
	ret = vesicle_nl_open(&nl, ns_fd);
	if (ret == 0) {
		ret = vesicle_nl_check(&nl, rtnl_link_delete(nl.sk, link));
		ret = vesicle_nl_close(env, &nl, reply, ret);
	}
	rtnl_link_put(link);
	return ret;
}
