#include "pool.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace basma {

namespace {

class Pool {
public:
    // Never destroyed: its threads wait on the condition variable until the process exits.
    static Pool& instance() {
        static Pool* pool = new Pool();
        return *pool;
    }

    bool try_run(int threads, const std::function<void()>& work) {
        std::unique_lock<std::mutex> batch(batch_, std::try_to_lock);
        if (!batch.owns_lock()) return false;
        const int helpers = threads - 1;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            while (static_cast<int>(workers_.size()) < helpers) {
                const int index = static_cast<int>(workers_.size());
                workers_.emplace_back([this, index] { loop(index); });
                workers_.back().detach();
            }
            work_ = &work;
            wanted_ = helpers;
            running_ = helpers;
            ++generation_;
        }
        start_.notify_all();
        work();
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [this] { return running_ == 0; });
        work_ = nullptr;
        return true;
    }

private:
    void loop(int index) {
        long seen = 0;
        for (;;) {
            const std::function<void()>* work;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                start_.wait(lock, [&] { return generation_ != seen && index < wanted_; });
                seen = generation_;
                work = work_;
            }
            (*work)();
            std::lock_guard<std::mutex> lock(mutex_);
            if (--running_ == 0) done_.notify_one();
        }
    }

    std::mutex batch_;                 // one batch at a time
    std::mutex mutex_;
    std::condition_variable start_, done_;
    std::vector<std::thread> workers_;
    const std::function<void()>* work_ = nullptr;
    int wanted_ = 0, running_ = 0;
    long generation_ = 0;
};

}  // namespace

void run_parallel(int threads, const std::function<void()>& work) {
    if (threads <= 1) {
        work();
        return;
    }
    if (Pool::instance().try_run(threads, work)) return;
    std::vector<std::thread> own;
    for (int t = 1; t < threads; ++t) own.emplace_back(work);
    work();
    for (std::thread& t : own) t.join();
}

}  // namespace basma
