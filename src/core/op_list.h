// A tiny intrusive FIFO of operations (the links live in Op).
#pragma once

#include <cstddef>

#include "core/op.h"

namespace asynccrypt {

// OpList-tagged intrusive doubly linked list. Not thread-safe: the owner
// (a QueueState) guards it with its mutex.
class OpFifo {
 public:
  explicit OpFifo(OpList tag) : tag_(tag) {}

  bool empty() const { return head_ == nullptr; }
  std::size_t size() const { return size_; }
  Op* front() const { return head_; }
  Op* back() const { return tail_; }

  void push_back(Op* op) {
    op->prev = tail_;
    op->next = nullptr;
    if (tail_ != nullptr)
      tail_->next = op;
    else
      head_ = op;
    tail_ = op;
    op->list = tag_;
    ++size_;
  }

  void push_front(Op* op) {
    op->next = head_;
    op->prev = nullptr;
    if (head_ != nullptr)
      head_->prev = op;
    else
      tail_ = op;
    head_ = op;
    op->list = tag_;
    ++size_;
  }

  void erase(Op* op) {
    if (op->prev != nullptr)
      op->prev->next = op->next;
    else
      head_ = op->next;
    if (op->next != nullptr)
      op->next->prev = op->prev;
    else
      tail_ = op->prev;
    op->prev = op->next = nullptr;
    op->list = OpList::kNone;
    --size_;
  }

 private:
  OpList tag_;
  Op* head_ = nullptr;
  Op* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace asynccrypt
