/* Descriptors any topic hands to Java: the natives of io.vesicle.loader.OwnedFd. */
#ifndef VESICLE_FD_H
#define VESICLE_FD_H

/* A close-on-exec duplicate of fd above stdio for a Java owner; fd itself when negative (an
 * -errno passed through), or -errno. */
int vesicle_dup_fd(int fd);

#endif
