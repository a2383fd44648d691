// The whole asynccrypt C++ API in one include: devices, queues, waits, errors, fds, wolfSSL owners.
#pragma once

#include "asynccrypt/device.h"
#include "asynccrypt/error.h"
#include "asynccrypt/event.h"
#include "asynccrypt/fd.h"
#include "asynccrypt/queue.h"
#include "asynccrypt/wolfssl_handles.h"
