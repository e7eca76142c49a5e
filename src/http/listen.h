#ifndef VG_HTTP_LISTEN_H
#define VG_HTTP_LISTEN_H

#include <stddef.h>

/* Room for the text of a bound address: "[IPV6]:PORT" and its NUL. */
#define VG_HTTP_ADDRESS_LEN 56

/*
 * Opens a listening TCP socket (non-blocking, close-on-exec, address reuse)
 * for a --listen value: "IPV4:PORT", "[IPV6]:PORT", "localhost:PORT", "PORT"
 * (a port alone: 127.0.0.1, the safe default) or ":PORT" (every IPv4
 * interface, like Go's net/http). Names other than localhost are refused
 * rather than resolved, so startup never waits on DNS. Returns the socket,
 * with the port bound (the system's choice for port 0), whether the address
 * is loopback, and the address as text ("127.0.0.1:8080", "[::1]:8080");
 * or a negative errno with a one-line message in err.
 */
int vg_http_listen(const char *spec, int *port, int *loopback, char *address, size_t address_len, char *err,
		   size_t errlen);

#endif
