#include "clibpq_shim.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

/* The soname Debian's libpq5 installs; the headers we build against are its -dev (libpq-dev). */
#define TM_LIBPQ "libpq.so.5"

static struct {
    int loaded;
    char error[512];
    PGconn *(*connectdb_params)(const char *const *, const char *const *, int);
    ConnStatusType (*status)(const PGconn *);
    char *(*error_message)(const PGconn *);
    void (*finish)(PGconn *);
    PQnoticeProcessor (*set_notice_processor)(PGconn *, PQnoticeProcessor, void *);
    PGresult *(*exec)(PGconn *, const char *);
    PGresult *(*exec_params)(PGconn *, const char *, int, const Oid *, const char *const *, const int *, const int *, int);
    ExecStatusType (*result_status)(const PGresult *);
    char *(*result_error_field)(const PGresult *, int);
    char *(*result_error_message)(const PGresult *);
    int (*ntuples)(const PGresult *);
    int (*nfields)(const PGresult *);
    char *(*getvalue)(const PGresult *, int, int);
    int (*getlength)(const PGresult *, int, int);
    int (*getisnull)(const PGresult *, int, int);
    char *(*cmd_tuples)(PGresult *);
    void (*clear)(PGresult *);
    int (*lib_version)(void);
} lib;

static pthread_once_t once = PTHREAD_ONCE_INIT;

#define RESOLVE(field, name) \
    if (!(*(void **)&lib.field = dlsym(handle, name))) { \
        snprintf(lib.error, sizeof lib.error, "%s has no %s: %s", TM_LIBPQ, name, dlerror()); \
        return; \
    }

static void load(void) {
    void *handle = dlopen(TM_LIBPQ, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(lib.error, sizeof lib.error, "cannot load %s (Debian package libpq5): %s", TM_LIBPQ, dlerror());
        return;
    }
    RESOLVE(connectdb_params, "PQconnectdbParams")
    RESOLVE(status, "PQstatus")
    RESOLVE(error_message, "PQerrorMessage")
    RESOLVE(finish, "PQfinish")
    RESOLVE(set_notice_processor, "PQsetNoticeProcessor")
    RESOLVE(exec, "PQexec")
    RESOLVE(exec_params, "PQexecParams")
    RESOLVE(result_status, "PQresultStatus")
    RESOLVE(result_error_field, "PQresultErrorField")
    RESOLVE(result_error_message, "PQresultErrorMessage")
    RESOLVE(ntuples, "PQntuples")
    RESOLVE(nfields, "PQnfields")
    RESOLVE(getvalue, "PQgetvalue")
    RESOLVE(getlength, "PQgetlength")
    RESOLVE(getisnull, "PQgetisnull")
    RESOLVE(cmd_tuples, "PQcmdTuples")
    RESOLVE(clear, "PQclear")
    RESOLVE(lib_version, "PQlibVersion")
    lib.loaded = 1;
}

int tm_pq_load(void) {
    pthread_once(&once, load);
    return lib.loaded;
}

const char *tm_pq_load_error(void) { return tm_pq_load() ? "" : lib.error; }

static void ignore_notice(void *arg, const char *message) { (void)arg; (void)message; }

PGconn *tm_pq_connect(const char *const *keywords, const char *const *values) {
    if (!tm_pq_load()) return NULL;
    PGconn *conn = lib.connectdb_params(keywords, values, 1);
    if (conn) lib.set_notice_processor(conn, ignore_notice, NULL);
    return conn;
}

/* Connections and results exist only after tm_pq_load() succeeded, so the calls below need no check. */
ConnStatusType tm_pq_status(const PGconn *conn) { return lib.status(conn); }
char *tm_pq_error_message(const PGconn *conn) { return lib.error_message(conn); }
void tm_pq_finish(PGconn *conn) { if (conn) lib.finish(conn); }
PGresult *tm_pq_exec(PGconn *conn, const char *script) { return lib.exec(conn, script); }
PGresult *tm_pq_exec_params(PGconn *conn, const char *command, int nParams, const char *const *paramValues,
                            const int *paramLengths, const int *paramFormats, int resultFormat) {
    return lib.exec_params(conn, command, nParams, NULL, paramValues, paramLengths, paramFormats, resultFormat);
}
ExecStatusType tm_pq_result_status(const PGresult *res) { return lib.result_status(res); }
char *tm_pq_result_error_field(const PGresult *res, int fieldcode) { return lib.result_error_field(res, fieldcode); }
char *tm_pq_result_error_message(const PGresult *res) { return lib.result_error_message(res); }
int tm_pq_ntuples(const PGresult *res) { return lib.ntuples(res); }
int tm_pq_nfields(const PGresult *res) { return lib.nfields(res); }
char *tm_pq_getvalue(const PGresult *res, int row, int column) { return lib.getvalue(res, row, column); }
int tm_pq_getlength(const PGresult *res, int row, int column) { return lib.getlength(res, row, column); }
int tm_pq_getisnull(const PGresult *res, int row, int column) { return lib.getisnull(res, row, column); }
char *tm_pq_cmd_tuples(PGresult *res) { return lib.cmd_tuples(res); }
void tm_pq_clear(PGresult *res) { if (res) lib.clear(res); }
int tm_pq_lib_version(void) { return tm_pq_load() ? lib.lib_version() : 0; }
