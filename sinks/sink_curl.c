/*
 * libcurl and OpenSSL's HMAC, loaded when the first webhook is set up (sink_int.h). Linked in,
 * they cost every run of rollwatch about 13 ms of start-up (libcurl brings some thirty shared
 * libraries), and most runs (parse, check-rules, replay to stdout) send nothing.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

#include "err.h"
#include "sink_int.h"

#define CURL_FN(name, member) {name, offsetof(struct sink__curl, member), 0}
#define CRYPTO_FN(name, member) {name, offsetof(struct sink__curl, member), 1}

static const struct {
    const char *name;
    size_t off;
    int crypto;
} fns[] = {
    CURL_FN("curl_global_init", global_init),
    CURL_FN("curl_global_cleanup", global_cleanup),
    CURL_FN("curl_easy_init", easy_init),
    CURL_FN("curl_easy_cleanup", easy_cleanup),
    CURL_FN("curl_easy_setopt", easy_setopt),
    CURL_FN("curl_easy_getinfo", easy_getinfo),
    CURL_FN("curl_easy_strerror", easy_strerror),
    CURL_FN("curl_multi_init", multi_init),
    CURL_FN("curl_multi_cleanup", multi_cleanup),
    CURL_FN("curl_multi_setopt", multi_setopt),
    CURL_FN("curl_multi_add_handle", multi_add_handle),
    CURL_FN("curl_multi_remove_handle", multi_remove_handle),
    CURL_FN("curl_multi_socket_action", multi_socket_action),
    CURL_FN("curl_multi_assign", multi_assign),
    CURL_FN("curl_multi_info_read", multi_info_read),
    CURL_FN("curl_multi_strerror", multi_strerror),
    CURL_FN("curl_slist_append", slist_append),
    CURL_FN("curl_slist_free_all", slist_free_all),
    CRYPTO_FN("HMAC", hmac),
    CRYPTO_FN("EVP_sha256", sha256),
};

/* The first of names that loads, or NULL. */
static void *open_first(const char *const *names)
{
    for (; *names != NULL; names++) {
        void *h = dlopen(*names, RTLD_NOW | RTLD_LOCAL);

        if (h != NULL) {
            return h;
        }
    }
    return NULL;
}

int sink__curl_open(struct sink__curl *c, struct err *e)
{
    /* sonames: Debian's libcurl4 (OpenSSL flavour) and OpenSSL 3, or 1.1 */
    static const char *const curl_names[] = {"libcurl.so.4", NULL};
    static const char *const crypto_names[] = {"libcrypto.so.3", "libcrypto.so.1.1", NULL};

    memset(c, 0, sizeof(*c));
    c->curl = open_first(curl_names);
    c->crypto = open_first(crypto_names);
    if (c->curl == NULL || c->crypto == NULL) {
        err_set(e, "webhooks need %s (Debian: apt-get install libcurl4 libssl3): %s",
                c->curl == NULL ? "libcurl" : "OpenSSL's libcrypto", dlerror());
        return -1;
    }
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        void *sym = dlsym(fns[i].crypto ? c->crypto : c->curl, fns[i].name);

        if (sym == NULL) {
            err_set(e, "webhooks: %s has no %s", fns[i].crypto ? "libcrypto" : "libcurl",
                    fns[i].name);
            return -1;
        }
        /* POSIX: a function's address is as wide as a data pointer */
        memcpy((char *)c + fns[i].off, &sym, sizeof(sym));
    }
    if (c->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        err_set(e, "cannot initialise libcurl");
        return -1;
    }
    c->ready = 1;
    return 0;
}

void sink__curl_close(struct sink__curl *c)
{
    /* the libraries stay loaded: OpenSSL registers handlers that run at exit */
    if (c->ready) {
        c->global_cleanup();
        c->ready = 0;
    }
}
