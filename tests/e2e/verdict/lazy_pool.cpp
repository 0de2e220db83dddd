// lazy_pool.cpp — a C++ pool owned by main whose workers are started on
// demand by request threads and wait on a std::condition_variable (which
// never calls pthread_cond_init). Fed by several requests, the condition
// variable's owner is their common ancestor (main's scope): once the
// requests end, the idle workers are parked, not leaked.
//
// usage: lazy_pool MODE DIR
//   shared   several request threads feed main's pool; snapshot DIR/live.json
//            after they all ended; the pool is stopped and joined at exit
//   private  one request builds its own pool and returns without stopping
//            it: its workers wait on a condition only that request's subtree
//            ever touched, and leak with it
#include <leakwatch.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

class Pool {
  public:
    explicit Pool(size_t max) : max_(max) {}
    ~Pool() { stop(); }
    void submit(std::function<void()> job)
    {
        std::unique_lock<std::mutex> lk(mu_);
        jobs_.push_back(std::move(job));
        if (workers_.size() < max_ && idle_ == 0)
            workers_.emplace_back([this] { work(); }); // started lazily, by the caller
        lk.unlock();
        cv_.notify_one();
    }
    void stop()
    {
        {
            std::lock_guard<std::mutex> lk(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto &t : workers_)
            if (t.joinable())
                t.join();
        workers_.clear();
    }
    void forget() // the leak: nobody will ever stop these workers
    {
        for (auto &t : workers_)
            t.detach();
        workers_.clear();
    }

  private:
    void work()
    {
        std::unique_lock<std::mutex> lk(mu_);
        for (;;) {
            idle_++;
            cv_.wait(lk, [this] { return stopping_ || !jobs_.empty(); });
            idle_--;
            if (jobs_.empty())
                return;
            auto job = std::move(jobs_.front());
            jobs_.pop_front();
            lk.unlock();
            job();
            lk.lock();
        }
    }
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> workers_;
    size_t max_, idle_ = 0;
    bool stopping_ = false;
};

void handle_request(Pool *pool, int n)
{
    for (int i = 0; i < n; i++) {
        pool->submit([] { std::this_thread::sleep_for(std::chrono::milliseconds(2)); });
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

void private_request()
{
    auto *pool = new Pool(2); // never deleted: its workers outlive the request
    handle_request(pool, 4);
    pool->forget();
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    std::string mode = argv[1], live = std::string(argv[2]) + "/live.json";
    if (mode == "shared") {
        Pool pool(3);
        std::vector<std::thread> reqs;
        for (int r = 0; r < 4; r++)
            reqs.emplace_back(handle_request, &pool, 6);
        for (auto &t : reqs)
            t.join();
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        if (leakwatch_snapshot(live.c_str()) != 0)
            return 3;
        return 0; // ~Pool stops and joins its workers
    }
    if (mode == "private") {
        std::thread(private_request).join();
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        return leakwatch_snapshot(live.c_str()) != 0 ? 3 : 0;
    }
    return 2;
}
