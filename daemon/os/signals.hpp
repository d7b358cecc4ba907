#pragma once
// The stop signals (SIGTERM, SIGINT) reach one thread only. The daemon blocks
// them before it starts any thread, so that every thread inherits the block,
// and unblocks them on the thread that runs the main loop once that loop is
// running. A signal that arrives in between stays pending and is delivered
// then, so none is lost and no worker thread is ever interrupted by one.

namespace okxvault {

void block_stop_signals();    // in the calling thread and every thread it starts later
void unblock_stop_signals();  // in the calling thread

}  // namespace okxvault
