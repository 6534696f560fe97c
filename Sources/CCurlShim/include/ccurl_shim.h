#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H
#include <curl/curl.h>

/* libcurl is opened with dlopen at the first transfer, not linked: with Debian's libcurl it brings ~20
 * libraries (OpenSSL, GnuTLS, Kerberos, LDAP, SSH…) worth ~9 MB of resident memory into a daemon that,
 * with file and console receivers only, never sends anything (BENCHMARKS.md, "Idle footprint").
 * Every call below loads it on first use; tm_curl_load reports whether that worked and why not. */

/* 1 when libcurl is loaded and curl_global_init succeeded; otherwise 0, and tm_curl_load_error says why. */
int tm_curl_load(void);
const char *tm_curl_load_error(void);

CURL *tm_curl_easy_init(void);
void tm_curl_easy_cleanup(CURL *h);
void tm_curl_easy_reset(CURL *h);
CURLcode tm_curl_easy_perform(CURL *h);
const char *tm_curl_easy_strerror(CURLcode code);
struct curl_slist *tm_curl_slist_append(struct curl_slist *list, const char *string);
void tm_curl_slist_free_all(struct curl_slist *list);

/* curl_easy_setopt and friends are variadic, which Swift cannot call: one typed wrapper per argument kind. */
typedef size_t (*tm_curl_io_cb)(char *buffer, size_t size, size_t nitems, void *userdata);

CURLcode tm_easy_setopt_long(CURL *h, CURLoption opt, long value);
CURLcode tm_easy_setopt_off_t(CURL *h, CURLoption opt, curl_off_t value);
CURLcode tm_easy_setopt_ptr(CURL *h, CURLoption opt, const void *value);
CURLcode tm_easy_setopt_io_cb(CURL *h, CURLoption opt, tm_curl_io_cb cb);
CURLcode tm_easy_getinfo_long(CURL *h, CURLINFO info, long *out);
CURLcode tm_easy_getinfo_double(CURL *h, CURLINFO info, double *out);
CURLcode tm_easy_getinfo_off_t(CURL *h, CURLINFO info, curl_off_t *out);
CURLcode tm_easy_getinfo_string(CURL *h, CURLINFO info, const char **out);
/* CURLVERSION_NOW is a macro Swift cannot import. NULL when libcurl cannot be loaded. */
curl_version_info_data *tm_curl_version_info(void);
#endif
