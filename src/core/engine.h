// The core's operations behind the C contract: submit, poll, wait, cancel.
#pragma once

#include <cstdint>

#include "core/wolfssl_api.h"

namespace asynccrypt::engine {

// wolfAsync_EventQueuePush after argument checks: queues the event in
// wolfSSL's queue and submits its recorded operation.
int push(WOLF_EVENT_QUEUE* queue, WOLF_EVENT* event);

// wolfAsync_EventQueuePoll after argument checks.
int poll_queue(WOLF_EVENT_QUEUE* queue, void* context_filter, WOLF_EVENT** events, int max_events,
               WOLF_EVENT_FLAG flags, int* event_count);

// True when dev's device leaves an operation of `type` to the caller (see
// Device::declines); counts it. Used by wc_AsyncSwInit, so once per
// operation: the calling thread's last DeclineShortcut answers first, and
// only an operation it is not sure of finds the device.
bool declines(WC_ASYNC_DEV* dev, int type);

// wolfAsync_EventPoll after argument checks (event->dev.async is set).
int poll_event(WOLF_EVENT* event, WOLF_EVENT_FLAG flags);

// wolfAsync_EventWait after argument checks: blocks (without spinning on
// worker devices) until the event is no longer pending.
int wait_event(WOLF_EVENT* event);

// Withdraws or drains the operation in flight on dev, if any, and unlinks
// its event from its queue. Used by wolfAsync_DevCtxFree.
void cancel(WC_ASYNC_DEV* dev);

// Ends the operation that the record at dev still has in flight, as
// cancel() does, even when the record was zeroed meanwhile (wolfCrypt's
// init functions zero the object before wolfAsync_DevCtxInit). Used by
// wolfAsync_DevCtxInit.
void end_before_init(WC_ASYNC_DEV* dev);

// Cancels dev's operation if it was collected (its event no longer pending)
// while its next one is being recorded (sw.type set): it would otherwise
// be mistaken for the new one. Used when an event is initialised again.
void retire_collected(WC_ASYNC_DEV* dev);

// Whether an operation of dev is in flight (submitted, not yet harvested or
// cancelled), read under the object's lock.
bool in_flight(WC_ASYNC_DEV* dev);

// Waits until no worker touches the memory of dev's operation in flight
// (it stays queued for its harvest). Used by asynccrypt_SslDrain.
void drain(WC_ASYNC_DEV* dev);

// Waits until no worker runs or holds any operation (each stays queued for
// its harvest). Used by the last wolfAsync_HardwareStop.
void drain_workers();

// asynccrypt_QueueFd / asynccrypt_QueueRelease.
int queue_fd(WOLF_EVENT_QUEUE* queue);
int queue_release(WOLF_EVENT_QUEUE* queue);

}  // namespace asynccrypt::engine
