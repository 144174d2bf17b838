/* Built by `make installcheck` (and so by distcheck) against the installed
 * libsky-client alone (pkg-config sky-client: no libsky, no libev): the
 * library links, and a connect to a port nobody listens on fails cleanly
 * with SKY_ENODEDOWN. Exit 0 only then. */
#include <sky/client.h>
#include <stdio.h>

int main(void)
{
    sky_client *c = sky_client_new("127.0.0.1", 1);
    int rc = c ? sky_client_connect(c, 1000) : SKY_ENOMEM;

    printf("connect to port 1: %s (%s)\n", sky_errname(rc), c ? sky_client_error(c) : "");
    sky_client_free(c);
    return rc == SKY_ENODEDOWN && sky_client_method_id("echo.Echo.Say") == 0xf6c2f52eu ? 0 : 1;
}
