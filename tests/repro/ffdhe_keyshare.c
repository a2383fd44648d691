/* ffdhe_keyshare.c: reproduces wolfSSL known issue 4 (docs/known-issues.md).
 *
 * TLS 1.3 handshakes in memory, client and server in one thread, FFDHE-2048
 * key share only. On an async layer without asynccrypt's workaround about 1
 * handshake in 200 fails with AES_GCM_AUTH_E, because TLSX_KeyShare_GenDhKey
 * resets the key lengths when it resumes after the pending key generation.
 * Without a device none fails; on asynccrypt none should.
 *
 *   ffdhe_keyshare COUNT USE_DEVICE(0|1) CERT_DIR
 * CERT_DIR holds server-cert.pem and server-key.pem. Exit status: 0 when all
 * handshakes succeeded, 1 otherwise. Build against a configured wolfSSL tree:
 *   cc -I$TREE ffdhe_keyshare.c $TREE/src/.libs/libwolfssl.so
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/async.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    unsigned char data[65536];
    int len;
} Pipe;

static Pipe to_server, to_client;

static int pipe_read(WOLFSSL* ssl, char* buf, int sz, void* ctx)
{
    Pipe* p = (Pipe*)ctx;
    (void)ssl;
    if (p->len == 0)
        return WOLFSSL_CBIO_ERR_WANT_READ;
    if (sz > p->len)
        sz = p->len;
    memcpy(buf, p->data, (size_t)sz);
    memmove(p->data, p->data + sz, (size_t)(p->len - sz));
    p->len -= sz;
    return sz;
}

static int pipe_write(WOLFSSL* ssl, char* buf, int sz, void* ctx)
{
    Pipe* p = (Pipe*)ctx;
    (void)ssl;
    if (p->len + sz > (int)sizeof(p->data))
        return WOLFSSL_CBIO_ERR_WANT_WRITE;
    memcpy(p->data + p->len, buf, (size_t)sz);
    p->len += sz;
    return sz;
}

/* One step of a handshake side: 1 done, 0 not yet, negative error. */
static int step(WOLFSSL* ssl, int is_client)
{
    int ret = is_client ? wolfSSL_connect(ssl) : wolfSSL_accept(ssl);
    int err;
    if (ret == WOLFSSL_SUCCESS)
        return 1;
    err = wolfSSL_get_error(ssl, ret);
    if (err == WC_PENDING_E)
        return wolfSSL_AsyncPoll(ssl, WOLF_POLL_FLAG_CHECK_HW) < 0 ? -1 : 0;
    if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
        return 0;
    return err < 0 ? err : -1;
}

int main(int argc, char** argv)
{
    int count, use_device, i, failures = 0, devId = INVALID_DEVID;
    char path[1024];
    int groups[1] = { WOLFSSL_FFDHE_2048 };
    WOLFSSL_CTX *server_ctx, *client_ctx;

    if (argc != 4) {
        fprintf(stderr, "usage: %s COUNT USE_DEVICE CERT_DIR\n", argv[0]);
        return 2;
    }
    count = atoi(argv[1]);
    use_device = atoi(argv[2]);
    wolfSSL_Init();
    if (use_device && wolfAsync_DevOpen(&devId) != 0)
        return 2;

    server_ctx = wolfSSL_CTX_new(wolfTLSv1_3_server_method());
    client_ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
    snprintf(path, sizeof(path), "%s/server-cert.pem", argv[3]);
    if (wolfSSL_CTX_use_certificate_file(server_ctx, path, WOLFSSL_FILETYPE_PEM) != 1)
        return 2;
    snprintf(path, sizeof(path), "%s/server-key.pem", argv[3]);
    if (wolfSSL_CTX_use_PrivateKey_file(server_ctx, path, WOLFSSL_FILETYPE_PEM) != 1)
        return 2;
    wolfSSL_CTX_set_verify(client_ctx, WOLFSSL_VERIFY_NONE, NULL);
    wolfSSL_CTX_SetDevId(server_ctx, devId);
    wolfSSL_CTX_SetDevId(client_ctx, devId);
    wolfSSL_SetIORecv(server_ctx, pipe_read);
    wolfSSL_SetIOSend(server_ctx, pipe_write);
    wolfSSL_SetIORecv(client_ctx, pipe_read);
    wolfSSL_SetIOSend(client_ctx, pipe_write);

    for (i = 0; i < count; i++) {
        WOLFSSL* server = wolfSSL_new(server_ctx);
        WOLFSSL* client = wolfSSL_new(client_ctx);
        int server_state = 0, client_state = 0, ret, rounds;

        to_server.len = to_client.len = 0;
        wolfSSL_SetIOReadCtx(server, &to_server);
        wolfSSL_SetIOWriteCtx(server, &to_client);
        wolfSSL_SetIOReadCtx(client, &to_client);
        wolfSSL_SetIOWriteCtx(client, &to_server);
        wolfSSL_set_groups(client, groups, 1);
        /* The key share is generated here, and may pend. */
        do {
            ret = wolfSSL_UseKeyShare(client, WOLFSSL_FFDHE_2048);
            if (ret == WC_PENDING_E)
                wolfSSL_AsyncPoll(client, WOLF_POLL_FLAG_CHECK_HW);
        } while (ret == WC_PENDING_E);

        for (rounds = 0; rounds < 100000 && (server_state == 0 || client_state == 0); rounds++) {
            if (client_state == 0)
                client_state = step(client, 1);
            if (server_state == 0)
                server_state = step(server, 0);
            if (client_state < 0 || server_state < 0)
                break;
        }
        if (client_state != 1 || server_state != 1) {
            failures++;
            printf("handshake %d failed: client %d server %d\n", i, client_state, server_state);
        }
        wolfSSL_free(server);
        wolfSSL_free(client);
    }
    printf("%d of %d handshakes failed (device %s)\n", failures, count, use_device ? "on" : "off");
    wolfSSL_CTX_free(server_ctx);
    wolfSSL_CTX_free(client_ctx);
    if (use_device)
        wolfAsync_DevClose(&devId);
    wolfSSL_Cleanup();
    return failures == 0 ? 0 : 1;
}
