/* Netlink natives on layer 3: addresses, routes and neighbours. */
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "vesicle_netlink.h"

/* ---- addresses ---- */

jint vesicle_netlink_add_address(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex,
				 jbyteArray address, jint prefixlen, jobject reply)
{
	int ret;
	struct nl_addr *local = vesicle_nl_addr(env, address, prefixlen, &ret);
	struct rtnl_addr *addr;
	struct vesicle_nl nl;

	if (local == NULL)
		return ret < 0 ? ret : -EINVAL;
	addr = rtnl_addr_alloc();
	if (addr == NULL) {
		nl_addr_put(local);
		return -ENOMEM;
	}
	rtnl_addr_set_ifindex(addr, ifindex);
	ret = vesicle_netlink_errno(rtnl_addr_set_local(addr, local));
	rtnl_addr_set_prefixlen(addr, prefixlen);
	if (ret == 0)
		ret = vesicle_nl_open(&nl, ns_fd);
	if (ret == 0) {
		/* NLM_F_EXCL: an existing address is EEXIST, not silently kept. */
		ret = vesicle_nl_check(&nl, rtnl_addr_add(nl.sk, addr, NLM_F_CREATE | NLM_F_EXCL));
		ret = vesicle_nl_close(env, &nl, reply, ret);
	}
	rtnl_addr_put(addr);
	nl_addr_put(local);
	return ret;
}

static int report_address(JNIEnv *env, jobject reply, struct nl_object *obj, int ifindex)
{
	struct rtnl_addr *addr = (struct rtnl_addr *)obj;
	int family = rtnl_addr_get_family(addr);
	struct nl_addr *local = rtnl_addr_get_local(addr);

	if ((family != AF_INET && family != AF_INET6) || local == NULL)
		return 0;
	if (ifindex > 0 && rtnl_addr_get_ifindex(addr) != ifindex)
		return 0;
	jbyteArray bytes = vesicle_nl_bytes(env, local);

	if (bytes == NULL)
		return -1;
	(*env)->CallVoidMethod(env, reply, vesicle_nl_reply.address, bytes,
			       rtnl_addr_get_prefixlen(addr), rtnl_addr_get_ifindex(addr));
	(*env)->DeleteLocalRef(env, bytes);
	return (*env)->ExceptionCheck(env) ? -1 : 0;
}

jint vesicle_netlink_addresses(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex,
			       jobject reply)
{
	return vesicle_nl_list(env, ns_fd, reply, rtnl_addr_alloc_cache, report_address, ifindex);
}

/* ---- routes ---- */

/* A route with one nexthop, as Netlink.Route describes it. NULL on failure, *err set. */
static struct rtnl_route *build_route(JNIEnv *env, jbyteArray dst_bytes, int prefixlen,
				      jbyteArray gateway_bytes, int ifindex, int table, int *err)
{
	struct nl_addr *dst = vesicle_nl_addr(env, dst_bytes, prefixlen, err);
	struct nl_addr *gateway = NULL;
	struct rtnl_route *route = NULL;
	struct rtnl_nexthop *nh;

	if (dst == NULL) {
		*err = *err < 0 ? *err : -EINVAL;
		return NULL;
	}
	gateway = vesicle_nl_addr(env, gateway_bytes, 0, err);
	if (*err < 0)
		goto out;
	route = rtnl_route_alloc();
	nh = route ? rtnl_route_nh_alloc() : NULL;
	if (nh == NULL) {
		*err = -ENOMEM;
		goto out;
	}
	*err = vesicle_netlink_errno(rtnl_route_set_dst(route, dst));
	if (*err < 0) {
		rtnl_route_nh_free(nh);
		goto out;
	}
	rtnl_route_set_table(route, table > 0 ? (uint32_t)table : RT_TABLE_MAIN);
	rtnl_route_set_type(route, RTN_UNICAST);
	if (ifindex > 0)
		rtnl_route_nh_set_ifindex(nh, ifindex);
	if (gateway != NULL)
		rtnl_route_nh_set_gateway(nh, gateway);
	rtnl_route_add_nexthop(route, nh);
out:
	if (*err < 0 && route != NULL) {
		rtnl_route_put(route);
		route = NULL;
	}
	if (gateway)
		nl_addr_put(gateway);
	nl_addr_put(dst);
	return route;
}

jint vesicle_netlink_add_route(JNIEnv *env, jclass clazz, jint ns_fd, jbyteArray dst,
			       jint prefixlen, jbyteArray gateway, jint ifindex, jint scope,
			       jboolean onlink, jint table, jint protocol, jbyteArray source,
			       jboolean replace, jobject reply)
{
	int ret;
	struct rtnl_route *route = build_route(env, dst, prefixlen, gateway, ifindex, table, &ret);
	struct nl_addr *pref_src;
	struct vesicle_nl nl;

	if (route == NULL)
		return ret;
	pref_src = vesicle_nl_addr(env, source, 0, &ret);
	if (ret < 0) {
		rtnl_route_put(route);
		return ret;
	}
	if (pref_src != NULL) {
		ret = vesicle_netlink_errno(rtnl_route_set_pref_src(route, pref_src));
		nl_addr_put(pref_src);
		if (ret < 0) {
			rtnl_route_put(route);
			return ret;
		}
	}
	rtnl_route_set_scope(route, (uint8_t)scope);
	rtnl_route_set_protocol(route, (uint8_t)protocol);
	if (onlink)
		rtnl_route_nh_set_flags(rtnl_route_nexthop_n(route, 0), RTNH_F_ONLINK);
	ret = vesicle_nl_open(&nl, ns_fd);
	if (ret == 0) {
		int flags = NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL);

		ret = vesicle_nl_check(&nl, rtnl_route_add(nl.sk, route, flags));
		ret = vesicle_nl_close(env, &nl, reply, ret);
	}
	rtnl_route_put(route);
	return ret;
}

jint vesicle_netlink_delete_route(JNIEnv *env, jclass clazz, jint ns_fd, jbyteArray dst,
				  jint prefixlen, jbyteArray gateway, jint ifindex, jint table,
				  jobject reply)
{
	int ret;
	struct rtnl_route *route = build_route(env, dst, prefixlen, gateway, ifindex, table, &ret);
	struct vesicle_nl nl;

	if (route == NULL)
		return ret;
	/* Scope and protocol are not part of a route's identity: match any. */
	rtnl_route_set_scope(route, RT_SCOPE_NOWHERE);
	rtnl_route_set_protocol(route, RTPROT_UNSPEC);
	ret = vesicle_nl_open(&nl, ns_fd);
	if (ret == 0) {
		ret = vesicle_nl_check(&nl, rtnl_route_delete(nl.sk, route, 0));
		ret = vesicle_nl_close(env, &nl, reply, ret);
	}
	rtnl_route_put(route);
	return ret;
}

/* IPv4 only: Netlink.routes lists the IPv4 main table. */
static int dump_routes(struct nl_sock *sk, struct nl_cache **cache)
{
	return rtnl_route_alloc_cache(sk, AF_INET, 0, cache);
}

static int report_route(JNIEnv *env, jobject reply, struct nl_object *obj, int ifindex)
{
	struct rtnl_route *route = (struct rtnl_route *)obj;
	struct rtnl_nexthop *nh;
	struct nl_addr *dst = rtnl_route_get_dst(route);

	if (rtnl_route_get_table(route) != RT_TABLE_MAIN ||
	    rtnl_route_get_type(route) != RTN_UNICAST || dst == NULL ||
	    rtnl_route_get_nnexthops(route) < 1)
		return 0;
	/* Multipath routes are reported by their first nexthop. */
	nh = rtnl_route_nexthop_n(route, 0);
	if (ifindex > 0 && rtnl_route_nh_get_ifindex(nh) != ifindex)
		return 0;
	struct nl_addr *gw = rtnl_route_nh_get_gateway(nh);
	/* libnl leaves a default route's destination empty (no RTA_DST): 0.0.0.0. */
	jbyteArray dst_bytes = nl_addr_get_len(dst) > 0 ? vesicle_nl_bytes(env, dst)
						       : (*env)->NewByteArray(env, 4);
	struct nl_addr *src = rtnl_route_get_pref_src(route);
	jbyteArray gw_bytes = gw && dst_bytes ? vesicle_nl_bytes(env, gw) : NULL;
	jbyteArray src_bytes = src && dst_bytes ? vesicle_nl_bytes(env, src) : NULL;

	if (dst_bytes == NULL || (gw != NULL && gw_bytes == NULL) ||
	    (src != NULL && src_bytes == NULL))
		return -1;
	(*env)->CallVoidMethod(env, reply, vesicle_nl_reply.route, dst_bytes,
			       (jint)nl_addr_get_prefixlen(dst), gw_bytes,
			       rtnl_route_nh_get_ifindex(nh), (jint)rtnl_route_get_scope(route),
			       (jboolean)((rtnl_route_nh_get_flags(nh) & RTNH_F_ONLINK) != 0),
			       (jint)rtnl_route_get_table(route),
			       (jint)rtnl_route_get_protocol(route), src_bytes);
	(*env)->DeleteLocalRef(env, dst_bytes);
	if (gw_bytes)
		(*env)->DeleteLocalRef(env, gw_bytes);
	if (src_bytes)
		(*env)->DeleteLocalRef(env, src_bytes);
	return (*env)->ExceptionCheck(env) ? -1 : 0;
}

jint vesicle_netlink_routes(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jobject reply)
{
	return vesicle_nl_list(env, ns_fd, reply, dump_routes, report_route, ifindex);
}

/* ---- neighbours ---- */

static struct rtnl_neigh *build_neighbour(JNIEnv *env, int ifindex, jbyteArray address,
					  int *err)
{
	struct nl_addr *dst = vesicle_nl_addr(env, address, 0, err);
	struct rtnl_neigh *neigh;

	if (dst == NULL) {
		*err = *err < 0 ? *err : -EINVAL;
		return NULL;
	}
	neigh = rtnl_neigh_alloc();
	if (neigh == NULL) {
		*err = -ENOMEM;
	} else {
		rtnl_neigh_set_ifindex(neigh, ifindex);
		*err = vesicle_netlink_errno(rtnl_neigh_set_dst(neigh, dst));
		if (*err < 0) {
			rtnl_neigh_put(neigh);
			neigh = NULL;
		}
	}
	nl_addr_put(dst);
	return neigh;
}

jint vesicle_netlink_add_neighbour(JNIEnv *env, jclass clazz, jint ns_fd, jbyteArray address,
				   jbyteArray mac, jint ifindex, jboolean permanent,
				   jobject reply)
{
	int ret;
	struct rtnl_neigh *neigh = build_neighbour(env, ifindex, address, &ret);
	struct nl_addr *lladdr;
	struct vesicle_nl nl;

	if (neigh == NULL)
		return ret;
	lladdr = vesicle_nl_addr(env, mac, 0, &ret);
	if (lladdr == NULL) {
		rtnl_neigh_put(neigh);
		return ret < 0 ? ret : -EINVAL;
	}
	rtnl_neigh_set_lladdr(neigh, lladdr);
	nl_addr_put(lladdr);
	rtnl_neigh_set_state(neigh, permanent ? NUD_PERMANENT : NUD_REACHABLE);
	ret = vesicle_nl_open(&nl, ns_fd);
	if (ret == 0) {
		ret = vesicle_nl_check(&nl, rtnl_neigh_add(nl.sk, neigh,
							   NLM_F_CREATE | NLM_F_REPLACE));
		ret = vesicle_nl_close(env, &nl, reply, ret);
	}
	rtnl_neigh_put(neigh);
	return ret;
}

jint vesicle_netlink_delete_neighbour(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex,
				      jbyteArray address, jobject reply)
{
	int ret;
	struct rtnl_neigh *neigh = build_neighbour(env, ifindex, address, &ret);
	struct vesicle_nl nl;

	if (neigh == NULL)
		return ret;
	ret = vesicle_nl_open(&nl, ns_fd);
	if (ret == 0) {
		ret = vesicle_nl_check(&nl, rtnl_neigh_delete(nl.sk, neigh, 0));
		ret = vesicle_nl_close(env, &nl, reply, ret);
	}
	rtnl_neigh_put(neigh);
	return ret;
}

static int report_neighbour(JNIEnv *env, jobject reply, struct nl_object *obj, int ifindex)
{
	struct rtnl_neigh *neigh = (struct rtnl_neigh *)obj;
	int family = rtnl_neigh_get_family(neigh);
	struct nl_addr *dst = rtnl_neigh_get_dst(neigh);
	struct nl_addr *lladdr = rtnl_neigh_get_lladdr(neigh);

	/* Only resolved IP neighbours with an Ethernet address: no bridge FDB, no
	 * incomplete or failed entries. */
	if ((family != AF_INET && family != AF_INET6) || dst == NULL || lladdr == NULL ||
	    nl_addr_get_len(lladdr) != 6)
		return 0;
	if (ifindex > 0 && rtnl_neigh_get_ifindex(neigh) != ifindex)
		return 0;
	jbyteArray dst_bytes = vesicle_nl_bytes(env, dst);
	jbyteArray mac = dst_bytes ? vesicle_nl_bytes(env, lladdr) : NULL;

	if (mac == NULL)
		return -1;
	(*env)->CallVoidMethod(env, reply, vesicle_nl_reply.neighbour, dst_bytes, mac,
			       rtnl_neigh_get_ifindex(neigh),
			       (jboolean)((rtnl_neigh_get_state(neigh) & NUD_PERMANENT) != 0));
	(*env)->DeleteLocalRef(env, dst_bytes);
	(*env)->DeleteLocalRef(env, mac);
	return (*env)->ExceptionCheck(env) ? -1 : 0;
}

jint vesicle_netlink_neighbours(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex,
				jobject reply)
{
	return vesicle_nl_list(env, ns_fd, reply, rtnl_neigh_alloc_cache, report_neighbour, ifindex);
}
