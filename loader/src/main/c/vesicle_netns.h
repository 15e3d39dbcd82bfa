/* Running one operation inside another network namespace, on this thread only. */
#ifndef VESICLE_NETNS_H
#define VESICLE_NETNS_H

/* Enter the namespace behind ns_fd (no-op for ns_fd < 0); *saved receives the fd
 * to return to. Returns 0 or -errno. */
int vesicle_netns_enter(int ns_fd, int *saved);
/* Return to the saved namespace; aborts the process if that fails, since the
 * thread would otherwise go on working in the wrong namespace. */
void vesicle_netns_leave(int saved);

#endif
