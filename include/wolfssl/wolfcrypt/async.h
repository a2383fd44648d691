/* async.h: the C contract between wolfSSL/wolfCrypt and asynccrypt.
 *
 * asynccrypt (MIT licence) implements the asynchronous-crypto layer that
 * wolfSSL compiles against when configured with --enable-asynccrypt. A crypto
 * call on an object initialised with a device id may return WC_PENDING_E; the
 * operation then runs on a device and the application learns that it finished
 * by polling an event queue (wolfAsync_EventQueuePoll, wolfSSL_AsyncPoll,
 * wolfSSL_CTX_AsyncPoll) or by waiting (wc_AsyncWait).
 *
 * Names, signatures and return codes follow what wolfSSL expects; one header
 * serves wolfSSL 5.5.4, 5.7.2 and 5.9.2 (version checks below). The
 * asynccrypt_* functions at the end are our extensions: devices chosen at run
 * time, a completion file descriptor per queue, and counters.
 */
#ifndef WOLF_CRYPT_ASYNC_H
#define WOLF_CRYPT_ASYNC_H

#include <wolfssl/version.h>
#include <wolfssl/wolfcrypt/types.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/wolfevent.h>

#ifdef WOLFSSL_ASYNC_CRYPT

/* asynccrypt's devices run the operations wolfCrypt records for its
 * software backend (WOLFSSL_ASYNC_CRYPT_SW). From wolfSSL 5.7 on, configure
 * leaves that backend out when crypto callbacks or PK callbacks are on (as
 * --enable-all does); nothing would then ever pend on our devices. */
#if !defined(WOLFSSL_ASYNC_CRYPT_SW) && !defined(HAVE_CAVIUM) && !defined(HAVE_INTEL_QA)
    #error "asynccrypt needs wolfSSL's asynchronous software records: configure wolfSSL with --enable-asynccrypt-sw (crypto or PK callbacks, as in --enable-all, turn them off)"
#endif

#ifndef WC_NO_ASYNC_THREADING
    #include <pthread.h>
    #include <sched.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Which algorithms take the asynchronous path.                              */
/* WC_ASYNC_NO_<GROUP> or WC_ASYNC_NO_<ALG> turn a path off; every algorithm */
/* left on gets WC_ASYNC_ENABLE_<ALG>, which wolfCrypt tests.                */
/* ------------------------------------------------------------------------ */
#ifdef WC_ASYNC_NO_CRYPT
    #ifndef WC_ASYNC_NO_ARC4
        #define WC_ASYNC_NO_ARC4
    #endif
    #ifndef WC_ASYNC_NO_AES
        #define WC_ASYNC_NO_AES
    #endif
    #ifndef WC_ASYNC_NO_3DES
        #define WC_ASYNC_NO_3DES
    #endif
#endif
#ifdef WC_ASYNC_NO_PKI
    #ifndef WC_ASYNC_NO_RSA_KEYGEN
        #define WC_ASYNC_NO_RSA_KEYGEN
    #endif
    #ifndef WC_ASYNC_NO_RSA
        #define WC_ASYNC_NO_RSA
    #endif
    #ifndef WC_ASYNC_NO_ECC
        #define WC_ASYNC_NO_ECC
    #endif
    #ifndef WC_ASYNC_NO_DH
        #define WC_ASYNC_NO_DH
    #endif
#endif
#ifdef WC_ASYNC_NO_HASH
    #ifndef WC_ASYNC_NO_SHA512
        #define WC_ASYNC_NO_SHA512
    #endif
    #ifndef WC_ASYNC_NO_SHA384
        #define WC_ASYNC_NO_SHA384
    #endif
    #ifndef WC_ASYNC_NO_SHA256
        #define WC_ASYNC_NO_SHA256
    #endif
    #ifndef WC_ASYNC_NO_SHA224
        #define WC_ASYNC_NO_SHA224
    #endif
    #ifndef WC_ASYNC_NO_SHA
        #define WC_ASYNC_NO_SHA
    #endif
    #ifndef WC_ASYNC_NO_MD5
        #define WC_ASYNC_NO_MD5
    #endif
    #ifndef WC_ASYNC_NO_HMAC
        #define WC_ASYNC_NO_HMAC
    #endif
    #ifndef WC_ASYNC_NO_SHA3
        #define WC_ASYNC_NO_SHA3
    #endif
#endif

#if !defined(WC_ASYNC_NO_ARC4) && !defined(NO_RC4)
    #define WC_ASYNC_ENABLE_ARC4
#endif
#if !defined(WC_ASYNC_NO_AES) && !defined(NO_AES)
    #define WC_ASYNC_ENABLE_AES
#endif
#if !defined(WC_ASYNC_NO_3DES) && !defined(NO_DES3)
    #define WC_ASYNC_ENABLE_3DES
#endif
#if !defined(WC_ASYNC_NO_RSA) && !defined(NO_RSA)
    #define WC_ASYNC_ENABLE_RSA
    #if !defined(WC_ASYNC_NO_RSA_KEYGEN) && defined(WOLFSSL_KEY_GEN)
        #define WC_ASYNC_ENABLE_RSA_KEYGEN
    #endif
#endif
#if !defined(WC_ASYNC_NO_ECC) && defined(HAVE_ECC)
    #define WC_ASYNC_ENABLE_ECC
    #ifndef WC_ASYNC_NO_ECC_KEYGEN
        #define WC_ASYNC_ENABLE_ECC_KEYGEN
    #endif
#endif
#if !defined(WC_ASYNC_NO_DH) && !defined(NO_DH)
    #define WC_ASYNC_ENABLE_DH
#endif
/* X25519 goes through the layer from wolfSSL 5.9.0 on (older versions never
 * record it). WC_ASYNC_NO_X25519 keeps it synchronous. */
#if !defined(WC_ASYNC_NO_X25519) && !defined(WC_ASYNC_NO_PKI) && defined(HAVE_CURVE25519)
    #define WC_ASYNC_ENABLE_X25519
#endif
#if !defined(WC_ASYNC_NO_SHA512) && defined(WOLFSSL_SHA512)
    #define WC_ASYNC_ENABLE_SHA512
#endif
#if !defined(WC_ASYNC_NO_SHA384) && defined(WOLFSSL_SHA384)
    #define WC_ASYNC_ENABLE_SHA384
#endif
#if !defined(WC_ASYNC_NO_SHA256) && !defined(NO_SHA256)
    #define WC_ASYNC_ENABLE_SHA256
#endif
#if !defined(WC_ASYNC_NO_SHA224) && defined(WOLFSSL_SHA224)
    #define WC_ASYNC_ENABLE_SHA224
#endif
#if !defined(WC_ASYNC_NO_SHA) && !defined(NO_SHA)
    #define WC_ASYNC_ENABLE_SHA
#endif
#if !defined(WC_ASYNC_NO_MD5) && !defined(NO_MD5)
    #define WC_ASYNC_ENABLE_MD5
#endif
#if !defined(WC_ASYNC_NO_HMAC) && !defined(NO_HMAC)
    #define WC_ASYNC_ENABLE_HMAC
#endif
#if !defined(WC_ASYNC_NO_SHA3) && defined(WOLFSSL_SHA3)
    #define WC_ASYNC_ENABLE_SHA3
#endif
#ifndef WC_ASYNC_NO_RNG
    #define WC_ASYNC_ENABLE_RNG
#endif

/* ------------------------------------------------------------------------ */
/* Size thresholds: symmetric inputs shorter than these stay synchronous,    */
/* because handing them to a device costs more than doing them here.         */
/* WC_ASYNC_THRESH_NONE sends every size to the device (for testing).        */
/* ------------------------------------------------------------------------ */
#ifdef WC_ASYNC_THRESH_NONE
    #undef WC_ASYNC_THRESH_AES_CBC
    #undef WC_ASYNC_THRESH_AES_GCM
    #undef WC_ASYNC_THRESH_DES3_CBC
    #define WC_ASYNC_THRESH_AES_CBC  1
    #define WC_ASYNC_THRESH_AES_GCM  1
    #define WC_ASYNC_THRESH_DES3_CBC 1
#endif
#ifndef WC_ASYNC_THRESH_AES_CBC
    #define WC_ASYNC_THRESH_AES_CBC  1024
#endif
#ifndef WC_ASYNC_THRESH_AES_GCM
    #define WC_ASYNC_THRESH_AES_GCM  128
#endif
#ifndef WC_ASYNC_THRESH_DES3_CBC
    #define WC_ASYNC_THRESH_DES3_CBC 1024
#endif

/* Markers stamped into WC_ASYNC_DEV.marker by wolfAsync_DevCtxInit; an
 * object takes the asynchronous path only when its marker matches. */
#define WOLFSSL_ASYNC_MARKER_INVALID 0x0
#define WOLFSSL_ASYNC_MARKER_ARC4    0xBEEF0001
#define WOLFSSL_ASYNC_MARKER_AES     0xBEEF0002
#define WOLFSSL_ASYNC_MARKER_3DES    0xBEEF0003
#define WOLFSSL_ASYNC_MARKER_RNG     0xBEEF0004
#define WOLFSSL_ASYNC_MARKER_HMAC    0xBEEF0005
#define WOLFSSL_ASYNC_MARKER_RSA     0xBEEF0006
#define WOLFSSL_ASYNC_MARKER_ECC     0xBEEF0007
#define WOLFSSL_ASYNC_MARKER_SHA512  0xBEEF0008
#define WOLFSSL_ASYNC_MARKER_SHA384  0xBEEF0009
#define WOLFSSL_ASYNC_MARKER_SHA256  0xBEEF000A
#define WOLFSSL_ASYNC_MARKER_SHA224  0xBEEF000B
#define WOLFSSL_ASYNC_MARKER_SHA     0xBEEF000C
#define WOLFSSL_ASYNC_MARKER_MD5     0xBEEF000D
#define WOLFSSL_ASYNC_MARKER_DH      0xBEEF000E
#define WOLFSSL_ASYNC_MARKER_SHA3    0xBEEF000F
#define WOLFSSL_ASYNC_MARKER_X25519  0xBEEF0010

/* How many operations wolfCrypt's benchmark keeps in flight per algorithm. */
#ifndef WOLF_ASYNC_MAX_PENDING
    #define WOLF_ASYNC_MAX_PENDING 8
#endif

/* Simulated hardware delay of the software simulator: with a value N > 0,
 * every Nth event a poll visits is left pending for that round. On by default
 * in debug builds, as in the original; the run-time option sim:skip=N
 * overrides it. */
#if !defined(WOLF_ASYNC_SW_SKIP_MOD) && defined(DEBUG_WOLFSSL)
    #define WOLF_ASYNC_SW_SKIP_MOD (WOLF_ASYNC_MAX_PENDING / 2)
#endif

/* "No event of that type is pending" (-109) was called WC_NOT_PENDING_E
 * before wolfSSL 5.6.4 and WC_NO_PENDING_E since; the newer name works with
 * every version. */
#if defined(LIBWOLFSSL_VERSION_HEX) && LIBWOLFSSL_VERSION_HEX < 0x05006004 && \
    !defined(WC_NO_PENDING_E)
    #define WC_NO_PENDING_E WC_NOT_PENDING_E
#endif

/* Event flags passed to wolfAsync_EventInit, wc_AsyncHandle and wc_AsyncWait. */
enum WC_ASYNC_FLAGS {
    /* The result is final once the event is done (key generation, DH). */
    WC_ASYNC_FLAG_NONE = 0x00000000,
    /* The crypto API must be called again after completion to collect the
     * result (sign, verify, encrypt, decrypt, shared secret). */
    WC_ASYNC_FLAG_CALL_AGAIN = 0x00000001,
};

/* The operation recorded in WC_ASYNC_SW.type. Fixed numbers, for debugging. */
typedef enum WC_ASYNC_SW_TYPE {
    ASYNC_SW_NONE = 0,
#ifdef HAVE_ECC
    ASYNC_SW_ECC_MAKE = 1,
    ASYNC_SW_ECC_SIGN = 2,
    ASYNC_SW_ECC_VERIFY = 3,
    ASYNC_SW_ECC_SHARED_SEC = 4,
#endif
#ifndef NO_RSA
    ASYNC_SW_RSA_MAKE = 5,
    ASYNC_SW_RSA_FUNC = 6,
#endif
#ifndef NO_DH
    ASYNC_SW_DH_AGREE = 7,
    ASYNC_SW_DH_GEN = 8,
#endif
#ifndef NO_AES
    ASYNC_SW_AES_CBC_ENCRYPT = 9,
    ASYNC_SW_AES_CBC_DECRYPT = 10,
    ASYNC_SW_AES_GCM_ENCRYPT = 11,
    ASYNC_SW_AES_GCM_DECRYPT = 12,
#endif
#ifndef NO_DES3
    ASYNC_SW_DES3_CBC_ENCRYPT = 13,
    ASYNC_SW_DES3_CBC_DECRYPT = 14,
#endif
#ifdef HAVE_CURVE25519
    ASYNC_SW_X25519_MAKE = 15,       /* wolfSSL 5.9.0 and later */
    ASYNC_SW_X25519_SHARED_SEC = 16, /* likewise, WC_X25519_NONBLOCK only */
#endif
} WC_ASYNC_SW_TYPE;

struct RsaKey;
struct ecc_key;
struct DhKey;
struct Aes;
struct Des3;
struct WC_RNG;
struct curve25519_key;

/* The arguments of one deferred operation, filled in by wolfCrypt after
 * wc_AsyncSwInit returned 1. Every pointer belongs to the caller, which must
 * keep it valid until the operation's event is done. Multi-precision
 * integers and points are stored untyped because their type depends on the
 * math library wolfCrypt was built with. */
typedef struct WC_ASYNC_SW {
    void* ctx; /* unused; kept for source compatibility */
    union {
#ifdef HAVE_ECC
        struct {
            struct WC_RNG* rng;
            struct ecc_key* key;
            int size;
            int curve_id;
        } eccMake;
        struct {
            const byte* in;
            struct WC_RNG* rng;
            struct ecc_key* key;
            void* r; /* mp_int* */
            void* s; /* mp_int* */
            word32 inSz;
        } eccSign;
        struct {
            void* r; /* mp_int* */
            void* s; /* mp_int* */
            const byte* hash;
            int* stat;
            struct ecc_key* key;
            word32 hashlen;
        } eccVerify;
        struct {
            struct ecc_key* private_key;
            void* public_point; /* ecc_point* */
            byte* out;
            word32* outLen;
        } eccSharedSec;
#endif
#ifndef NO_RSA
        struct {
            struct WC_RNG* rng;
            struct RsaKey* key;
            long e;
            int size;
        } rsaMake;
        struct {
            const byte* in;
            byte* out;
            word32* outSz;
            struct RsaKey* key;
            struct WC_RNG* rng;
            word32 inSz;
            int type;
        } rsaFunc;
#endif
#ifndef NO_DH
        struct {
            struct DhKey* key;
            byte* agree;
            word32* agreeSz;
            const byte* priv;
            const byte* otherPub;
            word32 privSz;
            word32 pubSz;
        } dhAgree;
        struct {
            struct DhKey* key;
            struct WC_RNG* rng;
            byte* priv;
            word32* privSz;
            byte* pub;
            word32* pubSz;
        } dhGen;
#endif
#ifndef NO_AES
        struct {
            struct Aes* aes;
            byte* out;
            const byte* in;
            const byte* iv;
            byte* authTag;
            const byte* authIn;
            word32 sz;
            word32 ivSz;
            word32 authTagSz;
            word32 authInSz;
        } aes;
#endif
#ifndef NO_DES3
        struct {
            struct Des3* des;
            byte* out;
            const byte* in;
            word32 sz;
        } des;
#endif
#ifdef HAVE_CURVE25519
        struct {
            struct WC_RNG* rng;
            struct curve25519_key* key;
            int size;
        } x25519Make;
        struct {
            struct curve25519_key* priv;
            struct curve25519_key* pub;
            byte* out;
            word32* outLen;
            int endian;
        } x25519SharedSec;
#endif
        byte none; /* keeps the union non-empty in minimal builds */
    };
    byte type; /* a WC_ASYNC_SW_TYPE; ASYNC_SW_NONE when nothing is recorded */
} WC_ASYNC_SW;

/* The per-object asynchronous record, embedded in every key and cipher
 * object (RsaKey.asyncDev, Aes.asyncDev, ...). It must fit in
 * WC_ASYNC_DEV_SIZE (168 bytes with the software backend): anything larger
 * lives in asynccrypt's core and is reached through `inflight`. */
typedef struct WC_ASYNC_DEV {
    word32 marker; /* WOLFSSL_ASYNC_MARKER_* when bound to a device */
    int devId;     /* the device given to wolfAsync_DevCtxInit */
    void* heap;    /* heap hint for anything allocated for this object */
    WOLF_EVENT event;
    WC_ASYNC_SW sw;
    /* asynccrypt's record of the operation in flight, or NULL. Owned by
     * the thread that submitted it; never copied (see wolfAsync_DevCopy). */
    void* inflight;
} WC_ASYNC_DEV;

/* ------------------------------------------------------------------------ */
/* Devices                                                                   */
/* ------------------------------------------------------------------------ */

/* wolfAsync_HardwareStart starts the device layer. It keeps a thread-safe
 * count: every call needs a matching wolfAsync_HardwareStop. Returns 0. */
WOLFSSL_API int wolfAsync_HardwareStart(void);

/* wolfAsync_HardwareStop undoes one wolfAsync_HardwareStart; extra calls
 * are ignored. Open devices stay open and operations in flight, on any
 * device kind, complete normally (nothing is cancelled or freed), so calling
 * it with operations in flight is safe. The stop that undoes the last start
 * (wolfCrypt_Cleanup's) also waits until no worker (threads,
 * chaos:over=threads) runs or holds an operation: those finish and wait for
 * their harvest, so no worker computes with wolfCrypt after its cleanup has
 * returned. wolfCrypt calls it at the end of its cleanup, after it has freed
 * its ECC caches (FP_ECC, ECC_CACHE_CURVE builds), so free or harvest
 * objects with operations at workers (asynccrypt_SslDrain for connections)
 * before wolfSSL_Cleanup or wolfCrypt_Cleanup. Operations of poll-driven
 * devices run only when polled. Close devices with wolfAsync_DevClose. */
WOLFSSL_API void wolfAsync_HardwareStop(void);

/* wolfAsync_DevOpen opens the default device (see ASYNCCRYPT_DEVICE) and
 * writes its id to *devId. Returns 0, or BAD_FUNC_ARG for a NULL pointer, or
 * ASYNC_INIT_E when the device cannot be opened (then *devId is
 * INVALID_DEVID). Unlike the original, *devId is always written. */
WOLFSSL_API int wolfAsync_DevOpen(int* devId);

/* wolfAsync_DevOpenThread is wolfAsync_DevOpen for one thread: the device
 * instance it opens is that thread's own. threadId, when not NULL, points at
 * the thread's pthread_t. The device option cpu=N pins that thread to CPU
 * N; in builds with WC_ASYNC_THREAD_BIND, a thread whose spec names no CPU
 * is pinned to the next CPU of the process's affinity mask, round robin (a
 * CPU id, not the original's instance index). */
WOLFSSL_API int wolfAsync_DevOpenThread(int* devId, void* threadId);

/* wolfAsync_DevClose releases a device and sets *devId to INVALID_DEVID.
 * NULL, INVALID_DEVID and unknown ids are harmless no-ops, and so is an id
 * closed before: ids carry a generation (they are non-negative ints, not
 * small ones), so a copy kept after its close never names a device opened
 * later, and a second close of it leaves that device alone.
 * With operations in flight: nothing is cancelled and nothing blocks. Each
 * operation keeps its device alive and completes normally: on a worker
 * device (threads, chaos:over=threads) its worker reports it; on a
 * poll-driven device (sim, chaos) it runs when its owner polls. The device
 * is destroyed when its last operation has been harvested or cancelled
 * (wolfAsync_DevCtxFree). An object still bound to the closed id runs its
 * later operations on a default simulator (ids asynccrypt did not hand out
 * are treated as crypto-callback ids), so close a device after freeing the
 * objects bound to it. */
WOLFSSL_API void wolfAsync_DevClose(int* devId);

/* wolfAsync_DevCtxInit zeroes *asyncDev and, when devId >= 0, binds it to
 * that device with the given marker and heap hint. A negative devId leaves
 * the marker invalid, so the object stays synchronous. Returns 0, or
 * BAD_FUNC_ARG for NULL.
 * Initialising a record whose operation is still in flight (a key or cipher
 * initialised again without being freed) first ends that operation exactly
 * as wolfAsync_DevCtxFree does: cancelled if it has not run, waited for if a
 * worker is running it, its event unlinked from its queue; the record then
 * starts afresh and 0 is returned. It does not refuse: wolfCrypt's init
 * functions (wc_AesInit, wc_InitRsaKey_ex, ...) zero the whole object before
 * they call this, so by then the operation could no longer be reached
 * through the object, and a refusal would leave it running into the object
 * with nobody able to free it. The same thread rule as for
 * wolfAsync_DevCtxFree applies. */
WOLFSSL_API int wolfAsync_DevCtxInit(WC_ASYNC_DEV* asyncDev, word32 marker,
    void* heap, int devId);

/* wolfAsync_DevCtxFree unbinds *asyncDev when its marker matches; a NULL
 * record or a mismatched marker (a double free) is a no-op. wolfCrypt's
 * free functions (wc_FreeRsaKey, wc_ecc_free, wc_AesFree, wc_FreeDhKey, ...)
 * call it before they release the key material, so freeing a key or cipher
 * object with an operation in flight is safe. What happens to that
 * operation:
 *  - not yet run (any device kind, including one queued at a worker that
 *    no worker has started): cancelled; it never runs and is never
 *    reported (counted in asynccrypt_DevStats.cancelled);
 *  - being run by a worker (threads, chaos:over=threads): this call blocks
 *    until the worker has finished (drain), then discards the result;
 *  - finished but not yet harvested: the result is discarded.
 * In every case its event is unlinked from its queue (the queue count drops
 * by one) and no later poll returns it. Safety: call it on the thread that
 * owns the queue the event was pushed to (the submitting thread), and
 * before the queue itself is freed. */
WOLFSSL_API void wolfAsync_DevCtxFree(WC_ASYNC_DEV* asyncDev, word32 marker);

/* wolfAsync_DevCopy fixes up dst after the caller copied src into it byte
 * for byte: dst gets no share of src's operation in flight, and its event
 * names dst, not src (context and record). Returns 0, or BAD_FUNC_ARG for
 * NULL. Safety: the byte copy must not overlap a worker running src's
 * operation (threads, chaos:over=threads): the worker writes the object and
 * its record (the result, the recorded type) as wolfCrypt computes, so copy
 * before the operation is handed over or once its event is done (after a
 * poll or asynccrypt_SslDrain). */
WOLFSSL_API int wolfAsync_DevCopy(WC_ASYNC_DEV* src, WC_ASYNC_DEV* dst);

/* ------------------------------------------------------------------------ */
/* Events                                                                    */
/* ------------------------------------------------------------------------ */

/* wolfAsync_EventInit prepares an event before its operation is submitted
 * (the operation may finish first): type, context, flags, the calling
 * thread, ret = WC_PENDING_E and state PENDING. Returns 0 or BAD_FUNC_ARG. */
WOLFSSL_API int wolfAsync_EventInit(WOLF_EVENT* event, WOLF_EVENT_TYPE type,
    void* context, word32 flags);

/* wolfAsync_EventWait blocks until the event is no longer pending (without
 * spinning when the device works on other threads). Returns the last poll
 * status; the operation's result is in event->ret. BAD_FUNC_ARG for NULL
 * or for an event that is not its record's own (an event initialised with
 * a record as context must be that record's `event` field: operations
 * finish only that one), WC_INIT_E for an event without a record. */
WOLFSSL_API int wolfAsync_EventWait(WOLF_EVENT* event);

/* wolfAsync_EventPoll checks one event; with WOLF_POLL_FLAG_CHECK_HW it also
 * drives the device. Returns 0, BAD_FUNC_ARG for NULL or for an event that
 * is not its record's own (see wolfAsync_EventWait), or WC_INIT_E when the
 * event has no device record. */
WOLFSSL_API int wolfAsync_EventPoll(WOLF_EVENT* event, WOLF_EVENT_FLAG flags);

/* wolfAsync_EventPop returns WC_PENDING_E while the event of that type is in
 * flight; once done, returns the operation's result and sets the event
 * READY. Another type gives WC_NO_PENDING_E; NULL gives BAD_FUNC_ARG. */
WOLFSSL_API int wolfAsync_EventPop(WOLF_EVENT* event, WOLF_EVENT_TYPE type);

/* wolfAsync_EventQueuePush queues an event whose operation wolfCrypt has
 * just recorded, and submits that operation to its device. Returns 0;
 * BAD_FUNC_ARG for NULL or for an event that is not its record's own `event`
 * field (nothing is queued: see wolfAsync_EventWait); WC_INIT_E for an event
 * without a record; BAD_COND_E when the record's operation is already
 * queued; MEMORY_E when memory runs out: then nothing is queued, the
 * recorded operation is dropped and its key made ready for a new one, so the
 * caller may start the operation again. */
WOLFSSL_API int wolfAsync_EventQueuePush(WOLF_EVENT_QUEUE* queue,
    WOLF_EVENT* event);

/* wolfAsync_EventQueuePoll harvests completed events of a queue, in time
 * proportional to the completions. context_filter, when not NULL, limits
 * it to events of that context; with WOLF_POLL_FLAG_CHECK_HW the devices are
 * driven first. Completed events are unlinked and stored in events[] (at
 * most maxEvents; the rest stay for the next poll); with events NULL all
 * are unlinked. *eventCount, when not NULL, is always written. Returns 0 or
 * a negative error code. */
WOLFSSL_API int wolfAsync_EventQueuePoll(WOLF_EVENT_QUEUE* queue,
    void* context_filter, WOLF_EVENT** events, int maxEvents,
    WOLF_EVENT_FLAG event_flags, int* eventCount);

/* wc_AsyncHandle initialises the object's event as a wolfCrypt event and
 * queues it. Returns 0 or BAD_FUNC_ARG for NULL. */
WOLFSSL_API int wc_AsyncHandle(WC_ASYNC_DEV* asyncDev, WOLF_EVENT_QUEUE* queue,
    word32 flags);

/* wc_AsyncWait returns ret unchanged unless it is WC_PENDING_E; then it
 * waits for the object's operation and returns its result (MEMORY_E when it
 * could not be submitted). Safe to call at the top of every retry loop.
 * An operation that fails, whatever the cause, leaves its RSA or ECC key
 * ready for a new operation (docs/known-issues.md, item 5). */
WOLFSSL_API int wc_AsyncWait(int ret, WC_ASYNC_DEV* asyncDev, word32 flags);

#ifndef WC_NO_ASYNC_SLEEP
/* wc_AsyncSleep sleeps ms milliseconds (EINTR is retried). Returns 0. */
WOLFSSL_API int wc_AsyncSleep(word32 ms);
#endif

#ifdef WOLFSSL_ASYNC_CRYPT_SW
/* wc_AsyncSwInit is called by wolfCrypt on the asynchronous path. When no
 * operation is recorded it records `type` and returns 1: the caller stores
 * its arguments in asyncDev->sw and returns WC_PENDING_E. Otherwise it
 * returns 0 and the caller computes (the device is running the operation).
 * A caller that calls the API again while its own operation is in flight
 * gets 0 as well and computes at once, but if a worker is running that
 * operation on the same object, the call first waits for the worker.
 * It also returns 0, recording nothing, when the object's device declines
 * the operation (counted in asynccrypt_DevStats.declined): threads declines
 * operations cheaper than a hand-over (inline_us=) and, with lone=inline,
 * an operation that would only make its caller wait (nothing else of the
 * device in flight, and the caller's recent submissions seldom overlapped),
 * dpdk the types its cryptodev does not take. wolfCrypt then computes it synchronously and no
 * WC_PENDING_E is returned. NULL returns 0. */
WOLFSSL_API int wc_AsyncSwInit(WC_ASYNC_DEV* asyncDev, int type);
#endif

/* ------------------------------------------------------------------------ */
/* Thread helpers                                                            */
/* ------------------------------------------------------------------------ */
#ifndef WC_NO_ASYNC_THREADING
typedef void* (*AsyncThreadFunc_t)(void*);

#define THREAD_DEFAULT_PRIORITY 0
#define THREAD_DEFAULT_POLICY   SCHED_OTHER

/* Online logical CPUs. */
WOLFSSL_API int wc_AsyncGetNumberOfCpus(void);
/* Creates a joinable thread; returns 0 or ASYNC_OP_E. */
WOLFSSL_API int wc_AsyncThreadCreate_ex(pthread_t* thread, word32 priority,
    int policy, AsyncThreadFunc_t function, void* params);
WOLFSSL_API int wc_AsyncThreadCreate(pthread_t* thread,
    AsyncThreadFunc_t function, void* params);
/* Pins the thread to one CPU; returns 0, BAD_FUNC_ARG, or the pthread error. */
WOLFSSL_API int wc_AsyncThreadBind(pthread_t* thread, word32 logicalCore);
WOLFSSL_API int wc_AsyncThreadStart(pthread_t* thread);
WOLFSSL_API void wc_AsyncThreadExit(void* retval);
WOLFSSL_API int wc_AsyncThreadKill(pthread_t* thread);
WOLFSSL_API int wc_AsyncThreadPrioritySet(pthread_t* thread, word32 priority);
WOLFSSL_API int wc_AsyncThreadSetPolicyAndPriority(pthread_t* thread,
    word32 policy, word32 priority);
WOLFSSL_API int wc_AsyncThreadJoin(pthread_t* thread);
WOLFSSL_API void wc_AsyncThreadYield(void);
WOLFSSL_API pthread_t wc_AsyncThreadId(void);
#endif /* !WC_NO_ASYNC_THREADING */

/* ------------------------------------------------------------------------ */
/* asynccrypt extensions                                                     */
/* ------------------------------------------------------------------------ */

/* asynccrypt_DevOpenSpec opens a device from a spec such as "sim",
 * "sim:skip=4", "sim:budget_us=20", "sim:slices=64", "threads", "threads:workers=4,depth=256" or
 * "chaos:seed=7,maxpolls=4,fail=5" (the syntax of ASYNCCRYPT_DEVICE). threadId is as for wolfAsync_DevOpenThread (NULL for
 * a process-wide device). A layered chaos spec passes the options chaos
 * does not take to the device underneath, of any kind but chaos and pkcs11:
 * "chaos:seed=1,over=dpdk,vdev=crypto_aesni_mb,burst=8",
 * "chaos:over=threads,workers=2,delay=100", "chaos:over=sim,slices=8".
 * Returns 0 and writes *devId, or BAD_FUNC_ARG for
 * an unknown kind or a bad option (see asynccrypt_LastError), or
 * ASYNC_INIT_E when the device cannot start. *devId is always written. */
WOLFSSL_API int asynccrypt_DevOpenSpec(int* devId, const char* spec,
    void* threadId);

/* asynccrypt_LastError describes the last failure of an open (or of a
 * slice-budget call) on this thread; the text stays valid until the next open on this thread. */
WOLFSSL_API const char* asynccrypt_LastError(void);

/* Logging. The library never prints on its own initiative except through
 * this: failed device opens and failed thread helpers (ASYNCCRYPT_LOG_ERROR),
 * a chaos device's seed, so that a failing run can be replayed
 * (ASYNCCRYPT_LOG_INFO), and every executed operation
 * (ASYNCCRYPT_LOG_DEBUG). By default the messages up to INFO (up to DEBUG
 * with ASYNCCRYPT_TRACE=1 in the environment) go to stderr, one line each,
 * prefixed "asynccrypt: ". */
#define ASYNCCRYPT_LOG_OFF   0
#define ASYNCCRYPT_LOG_ERROR 1
#define ASYNCCRYPT_LOG_INFO  2
#define ASYNCCRYPT_LOG_DEBUG 3

/* A log callback gets the level and one line of text (no newline, at most
 * 511 bytes), valid during the call. It may be called on any thread,
 * workers included, and must not call back into asynccrypt. */
typedef void (*asynccrypt_LogCallback)(int level, const char* message,
    void* ctx);

/* asynccrypt_SetLogCallback sends every message to callback, with ctx,
 * instead of stderr; NULL sends them to stderr again. Returns 0. */
WOLFSSL_API int asynccrypt_SetLogCallback(asynccrypt_LogCallback callback,
    void* ctx);

/* asynccrypt_SetLogLevel delivers the messages up to level and drops the
 * rest (ASYNCCRYPT_LOG_OFF drops all). Returns the previous level, or
 * BAD_FUNC_ARG for a level outside ASYNCCRYPT_LOG_OFF..ASYNCCRYPT_LOG_DEBUG
 * (the level is then unchanged). */
WOLFSSL_API int asynccrypt_SetLogLevel(int level);

/* asynccrypt_DevKind writes the kind of an open device ("sim", "threads",
 * "chaos")
 * into buf. Returns 0, or NO_VALID_DEVID for an id that is not open. */
WOLFSSL_API int asynccrypt_DevKind(int devId, char* buf, word32 bufSz);

/* asynccrypt_QueueFd returns a file descriptor that becomes readable when
 * completed events wait in the queue, so an event loop can sleep in epoll
 * instead of polling with a zero timeout. The descriptor belongs to
 * asynccrypt and stays valid until asynccrypt_QueueRelease. Returns the fd
 * or a negative error code. A poll of the queue that harvests everything
 * re-arms it (makes it unreadable); a poll that leaves completed events
 * behind (maxEvents, a context filter) leaves it readable.
 *
 * Readiness may be batched: a worker device (threads:batch=N, default 32)
 * may complete events without making the fd readable, so that one wake-up
 * harvests several. It does so only while other operations of the same
 * queue are still in flight at a worker, and the fd becomes readable no
 * later than when N completions wait, when nothing else of the queue is in
 * flight (a lone completion is never held), when the device's workers run
 * out of queued work, when the device reports a completion of this queue or
 * of any other 200 us or more after the first held one (so a queue sharing
 * a saturated pool with others is not left to its own next report), or
 * when an operation of the queue is cancelled
 * (wolfAsync_DevCtxFree). A poll always harvests held completions: batching
 * delays only the fd, never wolfAsync_EventQueuePoll. An event loop that
 * sleeps on the fd with operations in flight therefore always wakes.
 *
 * What the owner may do with the fd: wait for it to be readable (epoll,
 * poll, select, level- or edge-triggered), and read it (8 bytes, as any
 * eventfd) before polling the queue, as event loops usually do after
 * EPOLLIN; after such a read it must poll the queue before it waits on the
 * fd again (the poll makes the fd readable again if work remains). Writing
 * to it costs at most a spurious wake-up. It must not close it (use
 * asynccrypt_QueueRelease). */
WOLFSSL_API int asynccrypt_QueueFd(WOLF_EVENT_QUEUE* queue);

/* asynccrypt_QueueRelease forgets asynccrypt's state for a queue (and closes
 * its fd). Call it before freeing a queue, or a WOLFSSL_CTX, whose fd was
 * asked for. Returns 0, or BAD_STATE_E while operations are still queued.
 *
 * Lifetimes of TLS objects with operations in flight (asynccrypt keeps state
 * per queue, keyed by the queue's address, only while operations are live in
 * it or its fd is held):
 *  - wolfSSL_free of a connection with an operation pending (a handshake
 *    abandoned after WC_PENDING_E) frees the connection's keys and
 *    ciphers, whose wolfAsync_DevCtxFree cancels (or, at a worker, drains)
 *    the operation and unlinks its event from the CTX's queue; the queue is
 *    left holding nothing of that connection. On a poll-driven device (sim,
 *    chaos) that is all: the operation never runs, so freeing without
 *    draining first is safe. On a worker device (threads,
 *    chaos:over=threads) it is NOT: wolfSSL 5.5.4 frees buffers the
 *    operation writes (ssl->arrays, e.g. the ECDH pre-master secret) before
 *    the key whose free would drain the worker, so a worker already running
 *    it writes into freed memory. There, call asynccrypt_SslDrain(ssl)
 *    first (or poll until wolfSSL_AsyncPoll(ssl, WOLF_POLL_FLAG_CHECK_HW)
 *    returns 1, as the original required), then wolfSSL_free.
 *  - wolfSSL_CTX_free: wolfSSL frees a CTX only after its last connection
 *    (it is reference counted), so the connections' operations are gone by
 *    then and asynccrypt holds no state for its queue, unless the fd was
 *    asked for and not released: that state (one fd) then stays until
 *    asynccrypt_CtxQueueRelease(ctx) is called; it is harmless
 *    if a later queue reuses the address. wolfCrypt objects that an
 *    application itself queued on a CTX's queue (wc_AsyncHandle) must be
 *    freed or harvested before wolfSSL_CTX_free: their cancellation unlinks
 *    them from that queue. */
WOLFSSL_API int asynccrypt_QueueRelease(WOLF_EVENT_QUEUE* queue);

/* wolfSSL's TLS context (ssl.h names it WOLFSSL_CTX). */
struct WOLFSSL_CTX;

/* asynccrypt_CtxQueueFd is asynccrypt_QueueFd for the event queue of a TLS
 * context: the one wolfSSL_CTX_AsyncPoll polls, which an application cannot
 * name itself (WOLFSSL_CTX is opaque). An event loop sleeps on the fd (for
 * EPOLLIN) and calls wolfSSL_CTX_AsyncPoll when it is readable. Returns the
 * fd, BAD_FUNC_ARG for NULL, or what asynccrypt_QueueFd returns. The same
 * context gives the same fd until asynccrypt_CtxQueueRelease. */
WOLFSSL_API int asynccrypt_CtxQueueFd(struct WOLFSSL_CTX* ctx);

/* asynccrypt_CtxQueueRelease is asynccrypt_QueueRelease for ctx's queue:
 * call it before the last wolfSSL_CTX_free of a context whose fd was asked
 * for (after its connections are freed). Returns 0, BAD_FUNC_ARG for NULL,
 * or BAD_STATE_E while operations are still queued. */
WOLFSSL_API int asynccrypt_CtxQueueRelease(struct WOLFSSL_CTX* ctx);

/* asynccrypt_SslDrain makes wolfSSL_free(ssl) safe while the connection
 * waits for an operation (ssl is a WOLFSSL*): it blocks until no worker
 * touches that operation's buffers any more. The operation stays queued;
 * wolfSSL_free then cancels it. Cheap when nothing is pending, and a no-op
 * on poll-driven devices, whose operations run only inside polls. Returns 0,
 * or BAD_FUNC_ARG for NULL. Call it on the thread that owns ssl. */
WOLFSSL_API int asynccrypt_SslDrain(void* ssl);

/* Counters of one device. */
typedef struct asynccrypt_DevStats {
    word64 submitted;   /* operations accepted */
    word64 completed;   /* operations finished (any result) */
    word64 inline_runs; /* ran on the submitting thread: device was full */
    word64 cancelled;   /* dropped before they ran (object freed) */
    word32 in_flight;   /* accepted and not yet finished */
    word64 declined;    /* left to the caller, computed synchronously there
                         * without pending (see wc_AsyncSwInit) */
    word64 declined_alone; /* of declined: threads ran it in the caller
                            * because nothing else of the device was in
                            * flight and the caller's submissions seldom
                            * overlap (lone=inline, the default) */
} asynccrypt_DevStats;

/* asynccrypt_DevGetStats copies the counters of an open device. Returns 0,
 * BAD_FUNC_ARG for NULL, or NO_VALID_DEVID. */
WOLFSSL_API int asynccrypt_DevGetStats(int devId, asynccrypt_DevStats* stats);

/* ASYNCCRYPT_CAP(type) is the bit of asynccrypt_DevCapabilities' mask for
 * one WC_ASYNC_SW_TYPE. */
#define ASYNCCRYPT_CAP(type) (1u << (type))

/* asynccrypt_DevCapabilities writes to *mask the operation types (one bit,
 * ASYNCCRYPT_CAP(ASYNC_SW_...), each) that device devId runs on its own
 * engine. Software devices (sim, threads, chaos) report every type. The
 * dpdk device reports the types its cryptodev advertises (AES-CBC and
 * AES-GCM; RSA and DH agreement on drivers with asymmetric support such as
 * crypto_openssl); it declines every other type (wc_AsyncSwInit answers 0
 * and wolfCrypt computes at once, without pending), and an operation of a
 * reported type whose parameters the driver does not take pends and runs
 * through wolfCrypt on the polling thread (docs/hardware.md lists them).
 * Returns 0, BAD_FUNC_ARG for NULL, or NO_VALID_DEVID. */
WOLFSSL_API int asynccrypt_DevCapabilities(int devId, word32* mask);

/* asynccrypt_DevSetSliceBudget sets how much work one poll does on the
 * operations of an open "sim" device whose math runs in slices (wolfCrypt's
 * non-blocking ECC, WC_ECC_NONBLOCK; keys without an ecc_nb_ctx_t of their
 * own, such as TLS 1.3's key-share keys, are lent one for each operation).
 * The budget is per poll: the sliced operations a poll visits share it in
 * queue order, each running slices until it finishes or the poll has run
 * `slices` slices or `budget_us` microseconds in all; the first operation
 * always runs at least one slice, so the oldest one always progresses, and
 * later ones wait for the next poll once the budget is spent. 0 means no
 * limit for that field. So a poll lasts about budget_us however many
 * operations are in flight (plus one slice, which wolfSSL does not divide
 * further). Other operations run whole, as before. The same budget is set at
 * open time with the spec options "sim:slices=N" and "sim:budget_us=T" (a
 * spec naming only one of them sets the other to 0); the default is a 5 us
 * budget with no slice limit. Takes effect from the next poll; safe to call
 * from any thread while others poll.
 * Returns 0; NO_VALID_DEVID for an id that is not open; BAD_FUNC_ARG for a
 * device of another kind, a negative value, slices > 1048576, budget_us >
 * 1000000, or both 0 (see asynccrypt_LastError). */
WOLFSSL_API int asynccrypt_DevSetSliceBudget(int devId, int slices,
    int budget_us);

/* asynccrypt_DevGetSliceBudget writes the current budget of an open "sim"
 * device. Returns 0; BAD_FUNC_ARG for NULL outputs or another kind;
 * NO_VALID_DEVID for an id that is not open. */
WOLFSSL_API int asynccrypt_DevGetSliceBudget(int devId, int* slices,
    int* budget_us);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WOLFSSL_ASYNC_CRYPT */
#endif /* WOLF_CRYPT_ASYNC_H */
