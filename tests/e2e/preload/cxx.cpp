// cxx.cpp — std::thread waiting in std::condition_variable::wait_for.
#include <leakwatch.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

static std::mutex mu;
static std::condition_variable cv;
static bool stop;

__attribute__((noinline)) static void ticker()
{
    std::unique_lock<std::mutex> lk(mu);
    while (!stop)
        cv.wait_for(lk, std::chrono::milliseconds(20));
}

int main(int argc, char **argv)
{
    std::thread t(ticker);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (argc > 1 && leakwatch_snapshot(argv[1]) != 0)
        std::fprintf(stderr, "cxx: snapshot failed\n");
    {
        std::lock_guard<std::mutex> g(mu);
        stop = true;
    }
    cv.notify_all();
    t.join();
    return 0;
}
