// A persistent pool of worker threads with cheap dispatch (see CKernels/pool.c).

import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Worker threads that live as long as the pool. `parallelFor` hands out indices dynamically; the calling
/// thread works too, so a pool of `threads: 2` starts one extra thread. Idle workers spin for about a
/// millisecond (`WAFER_SPIN_US`) before sleeping, so back-to-back jobs cost well under a microsecond to start.
///
/// One `parallelFor` runs at a time per pool; calls from several threads are serialised.
public final class ThreadPool: @unchecked Sendable {
    private let pool: OpaquePointer
    private let lock = Mutex()
    /// Scratch memory for matmul (quantized activations), grown on demand, used under `lock`.
    var scratch: UnsafeMutableRawPointer?
    var scratchBytes = 0

    public init(threads: Int) {
        pool = ck_pool_create(Int32(max(1, threads)))
    }

    deinit {
        ck_pool_destroy(pool)
        scratch?.deallocate()
    }

    public var threadCount: Int { Int(ck_pool_threads(pool)) }

    /// Runs body(i) for i in 0..<count split over the threads; returns when all are done.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        guard count > 0 else { return }
        lock.locked { run(count, body) }
    }

    /// parallelFor without taking the lock (the caller holds it).
    func run(_ count: Int, _ body: (Int) -> Void) {
        if count == 1 || threadCount == 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var task = body
            withUnsafeMutablePointer(to: &task) { pointer in
                ck_pool_run(pool, count, { context, index in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
                }, pointer)
            }
        }
    }

    /// Runs `body` holding the pool (no other parallelFor or matmul can interleave) with at least `bytes`
    /// of 64-byte-aligned scratch memory.
    func withScratch<R>(bytes: Int, _ body: (UnsafeMutableRawPointer) -> R) -> R {
        lock.locked {
            if scratch == nil || scratchBytes < bytes {
                scratch?.deallocate()
                scratchBytes = max(bytes, scratchBytes * 2, 64)
                scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchBytes, alignment: 64)
            }
            return body(scratch!)
        }
    }
}

/// A plain pthread mutex (Synchronization.Mutex needs macOS 15).
final class Mutex: @unchecked Sendable {
    private let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() { pthread_mutex_init(m, nil) }
    deinit { pthread_mutex_destroy(m); m.deallocate() }
    @inline(__always) func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(m)
        defer { pthread_mutex_unlock(m) }
        return body()
    }
}
