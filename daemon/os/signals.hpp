#pragma once
// The signals the daemon handles, the stop signals (SIGTERM, SIGINT) and SIGHUP
// (reopen the audit log), reach one thread only. The daemon blocks them before
// it starts any thread, so that every thread inherits the block, and unblocks
// them on the thread that runs the main loop once that loop is running. A
// signal that arrives in between stays pending and is delivered then, so none
// is lost, a SIGHUP never kills a daemon still starting, and no worker thread
// is ever interrupted by one.

namespace okxvault {

void block_handled_signals();    // in the calling thread and every thread it starts later
void unblock_handled_signals();  // in the calling thread

}  // namespace okxvault
