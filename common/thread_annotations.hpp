#pragma once
// Lock rules the compiler checks: clang's thread-safety analysis
// (-Wthread-safety) reads these; other compilers see nothing. A member
// GUARDED_BY(m) is read or written only while m is held (shared suffices to
// read), a function REQUIRES(m) is called with m held. libstdc++'s mutexes carry
// no annotations, hence the thin wrappers below, which the analysis understands.

#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define OKXV_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define OKXV_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) OKXV_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY OKXV_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) OKXV_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) OKXV_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) OKXV_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) OKXV_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) OKXV_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) OKXV_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) OKXV_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) OKXV_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) OKXV_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) OKXV_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define RELEASE_GENERIC(...) OKXV_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
#define EXCLUDES(...) OKXV_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define RETURN_CAPABILITY(x) OKXV_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS OKXV_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace okxvault {

class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mutex_.lock(); }
  void unlock() RELEASE() { mutex_.unlock(); }

 private:
  std::mutex mutex_;
};

class CAPABILITY("shared_mutex") SharedMutex {
 public:
  void lock() ACQUIRE() { mutex_.lock(); }
  void unlock() RELEASE() { mutex_.unlock(); }
  void lock_shared() ACQUIRE_SHARED() { mutex_.lock_shared(); }
  void unlock_shared() RELEASE_SHARED() { mutex_.unlock_shared(); }

 private:
  std::shared_mutex mutex_;
};

// Holds a Mutex or a SharedMutex exclusively for its scope.
template <typename M>
class SCOPED_CAPABILITY ExclusiveLock {
 public:
  explicit ExclusiveLock(M& mutex) ACQUIRE(mutex) : mutex_(mutex) { mutex_.lock(); }
  ~ExclusiveLock() RELEASE() { mutex_.unlock(); }
  ExclusiveLock(const ExclusiveLock&) = delete;
  ExclusiveLock& operator=(const ExclusiveLock&) = delete;

 private:
  M& mutex_;
};

// Holds a SharedMutex shared for its scope.
class SCOPED_CAPABILITY SharedLock {
 public:
  explicit SharedLock(SharedMutex& mutex) ACQUIRE_SHARED(mutex) : mutex_(mutex) { mutex_.lock_shared(); }
  ~SharedLock() RELEASE() { mutex_.unlock_shared(); }
  SharedLock(const SharedLock&) = delete;
  SharedLock& operator=(const SharedLock&) = delete;

 private:
  SharedMutex& mutex_;
};

}  // namespace okxvault
