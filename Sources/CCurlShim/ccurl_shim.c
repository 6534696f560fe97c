#include "ccurl_shim.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

/* The soname Debian's libcurl4 (OpenSSL flavour) installs; the headers we build against are its -dev. */
#define TM_LIBCURL "libcurl.so.4"

static struct {
    int loaded;
    char error[512];
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    CURLcode (*easy_perform)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    curl_version_info_data *(*version_info)(CURLversion);
} lib;

static pthread_once_t once = PTHREAD_ONCE_INIT;

#define RESOLVE(field, name) \
    if (!(*(void **)&lib.field = dlsym(handle, name))) { \
        snprintf(lib.error, sizeof lib.error, "%s has no %s: %s", TM_LIBCURL, name, dlerror()); \
        return; \
    }

/* Runs once, before any handle exists; curl_global_init is not thread-safe (libcurl-thread(3)), and
 * pthread_once makes every other caller wait for it. */
static void load(void) {
    void *handle = dlopen(TM_LIBCURL, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(lib.error, sizeof lib.error, "cannot load %s (Debian package libcurl4): %s", TM_LIBCURL, dlerror());
        return;
    }
    RESOLVE(global_init, "curl_global_init")
    RESOLVE(easy_init, "curl_easy_init")
    RESOLVE(easy_cleanup, "curl_easy_cleanup")
    RESOLVE(easy_reset, "curl_easy_reset")
    RESOLVE(easy_perform, "curl_easy_perform")
    RESOLVE(easy_strerror, "curl_easy_strerror")
    RESOLVE(easy_setopt, "curl_easy_setopt")
    RESOLVE(easy_getinfo, "curl_easy_getinfo")
    RESOLVE(slist_append, "curl_slist_append")
    RESOLVE(slist_free_all, "curl_slist_free_all")
    RESOLVE(version_info, "curl_version_info")
    CURLcode rc = lib.global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        snprintf(lib.error, sizeof lib.error, "curl_global_init failed: %s", lib.easy_strerror(rc));
        return;
    }
    lib.loaded = 1;
}

int tm_curl_load(void) {
    pthread_once(&once, load);
    return lib.loaded;
}

const char *tm_curl_load_error(void) { return tm_curl_load() ? "" : lib.error; }

/* Handles exist only after tm_curl_load() succeeded (CurlEasy checks), so the calls below need no check. */
CURL *tm_curl_easy_init(void) { return tm_curl_load() ? lib.easy_init() : NULL; }
void tm_curl_easy_cleanup(CURL *h) { lib.easy_cleanup(h); }
void tm_curl_easy_reset(CURL *h) { lib.easy_reset(h); }
CURLcode tm_curl_easy_perform(CURL *h) { return lib.easy_perform(h); }
const char *tm_curl_easy_strerror(CURLcode code) { return tm_curl_load() ? lib.easy_strerror(code) : lib.error; }
struct curl_slist *tm_curl_slist_append(struct curl_slist *list, const char *s) { return tm_curl_load() ? lib.slist_append(list, s) : list; }
void tm_curl_slist_free_all(struct curl_slist *list) { if (list) lib.slist_free_all(list); }

CURLcode tm_easy_setopt_long(CURL *h, CURLoption opt, long value) { return lib.easy_setopt(h, opt, value); }
CURLcode tm_easy_setopt_off_t(CURL *h, CURLoption opt, curl_off_t value) { return lib.easy_setopt(h, opt, value); }
CURLcode tm_easy_setopt_ptr(CURL *h, CURLoption opt, const void *value) { return lib.easy_setopt(h, opt, value); }
CURLcode tm_easy_setopt_io_cb(CURL *h, CURLoption opt, tm_curl_io_cb cb) { return lib.easy_setopt(h, opt, cb); }
CURLcode tm_easy_getinfo_long(CURL *h, CURLINFO info, long *out) { return lib.easy_getinfo(h, info, out); }
CURLcode tm_easy_getinfo_double(CURL *h, CURLINFO info, double *out) { return lib.easy_getinfo(h, info, out); }
CURLcode tm_easy_getinfo_off_t(CURL *h, CURLINFO info, curl_off_t *out) { return lib.easy_getinfo(h, info, out); }
CURLcode tm_easy_getinfo_string(CURL *h, CURLINFO info, const char **out) { return lib.easy_getinfo(h, info, out); }
curl_version_info_data *tm_curl_version_info(void) { return tm_curl_load() ? lib.version_info(CURLVERSION_NOW) : NULL; }
