/* Internal to the netlink natives (vesicle_netlink*.c): one operation's rtnetlink socket,
 * the reply object natives report through, and conversions shared by the topic files. */
#ifndef VESICLE_NETLINK_H
#define VESICLE_NETLINK_H

#include <jni.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>

/* One operation: a socket created inside the target namespace (a netlink socket stays bound
 * to the namespace it was created in), the thread's own namespace to return to, and what the
 * kernel said when it refused a request. */
struct vesicle_nl {
	struct nl_sock *sk;
	int saved_ns;
	int kernel_errno;	     /* positive errno of the kernel's NLMSG_ERROR, 0 if none */
	char kernel_message[192];    /* its extended ack text (NLMSGERR_ATTR_MSG), "" if none */
};

/* Enters ns_fd (-1: stay) and opens a NETLINK_ROUTE socket there. 0 or -errno; on failure
 * the thread is back in its namespace and nothing needs closing. */
int vesicle_nl_open(struct vesicle_nl *nl, int ns_fd);
/* The -errno for a libnl return value (0 for success): the kernel's own errno when it sent
 * one, else libnl's NLE_* code translated. */
int vesicle_nl_check(struct vesicle_nl *nl, int ret);
/* Closes the socket and returns to the thread's namespace; when ret < 0 hands the kernel's
 * explanation, if any, to reply. Returns ret. No Java code runs before this. */
int vesicle_nl_close(JNIEnv *env, struct vesicle_nl *nl, jobject reply, int ret);

/* Dumps one kind of object into a new cache: a libnl *_alloc_cache call. */
typedef int (*vesicle_nl_dump)(struct nl_sock *sk, struct nl_cache **cache);
/* Hands obj to the reply unless filtered out (ifindex > 0: objects of that link only).
 * 0, or -1 when the reply could not take it. */
typedef int (*vesicle_nl_report)(JNIEnv *env, jobject reply, struct nl_object *obj, int ifindex);
/* Dumps a kind of object inside ns_fd, then, back in the thread's namespace, reports each:
 * 0 or -errno (-ENOMEM when a report failed). */
int vesicle_nl_list(JNIEnv *env, int ns_fd, jobject reply, vesicle_nl_dump dump,
		    vesicle_nl_report report, int ifindex);

/* libnl's NLE_* (negative) to -errno, for failures libnl detected itself. */
int vesicle_netlink_errno(int nle);

/* Copies an interface name (at most IFNAMSIZ - 1 bytes, checked in Java). 0 or -errno. */
int vesicle_nl_name(JNIEnv *env, jstring name, char out[IFNAMSIZ]);
/* A 4- or 16-byte address (AF_INET/AF_INET6) or a 6-byte MAC (AF_LLC) as an nl_addr with
 * prefixlen; NULL on a bad length or no memory, *err set to -errno. NULL array: NULL, *err 0. */
struct nl_addr *vesicle_nl_addr(JNIEnv *env, jbyteArray bytes, int prefixlen, int *err);
/* The address bytes as a Java byte[] (empty for NULL); NULL with a pending exception. */
jbyteArray vesicle_nl_bytes(JNIEnv *env, struct nl_addr *addr);

/* Reply callbacks (io.vesicle.loader.Netlink$Reply), cached at load. */
struct vesicle_nl_reply {
	jmethodID link;	      /* (ILjava/lang/String;[BIZLjava/lang/String;)V */
	jmethodID address;    /* ([BII)V */
	jmethodID route;      /* ([BI[BIIZII[B)V */
	jmethodID neighbour;  /* ([B[BIZ)V */
	jmethodID kernel_message; /* (Ljava/lang/String;)V */
};
extern struct vesicle_nl_reply vesicle_nl_reply;

/* Natives of the topic files, registered in one table by vesicle_netlink.c. */
jint vesicle_netlink_create_veth(JNIEnv *env, jclass clazz, jint ns_fd, jstring name,
				 jstring peer_name, jint peer_ns_fd, jint mtu, jbyteArray peer_mac,
				 jobject reply);
jint vesicle_netlink_create_vxlan(JNIEnv *env, jclass clazz, jint ns_fd, jstring name,
				  jint dst_port, jint mtu, jobject reply);
jint vesicle_netlink_vxlan(JNIEnv *env, jclass clazz, jint ns_fd, jstring name, jintArray out,
			   jobject reply);
jint vesicle_netlink_link(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jstring name,
			  jobject reply);
jint vesicle_netlink_links(JNIEnv *env, jclass clazz, jint ns_fd, jobject reply);
jint vesicle_netlink_set_up(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jboolean up,
			    jobject reply);
jint vesicle_netlink_set_flag(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jint flag,
			      jboolean on, jobject reply);
jint vesicle_netlink_set_mtu(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jint mtu,
			     jobject reply);
jint vesicle_netlink_set_mac(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex,
			     jbyteArray mac, jobject reply);
jint vesicle_netlink_move(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex, jint target_fd,
			  jstring new_name, jobject reply);
jint vesicle_netlink_delete_link(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex,
				 jstring name, jobject reply);

jint vesicle_netlink_add_address(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex,
				 jbyteArray address, jint prefixlen, jobject reply);
jint vesicle_netlink_addresses(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex,
			       jobject reply);
jint vesicle_netlink_add_route(JNIEnv *env, jclass clazz, jint ns_fd, jbyteArray dst,
			       jint prefixlen, jbyteArray gateway, jint ifindex, jint scope,
			       jboolean onlink, jint table, jint protocol, jbyteArray source,
			       jboolean replace, jobject reply);
jint vesicle_netlink_delete_route(JNIEnv *env, jclass clazz, jint ns_fd, jbyteArray dst,
				  jint prefixlen, jbyteArray gateway, jint ifindex, jint table,
				  jobject reply);
jint vesicle_netlink_routes(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex,
			    jobject reply);
jint vesicle_netlink_add_neighbour(JNIEnv *env, jclass clazz, jint ns_fd, jbyteArray address,
				   jbyteArray mac, jint ifindex, jboolean permanent,
				   jobject reply);
jint vesicle_netlink_delete_neighbour(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex,
				      jbyteArray address, jobject reply);
jint vesicle_netlink_neighbours(JNIEnv *env, jclass clazz, jint ns_fd, jint ifindex,
				jobject reply);

#endif
