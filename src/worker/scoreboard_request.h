// What the scoreboard shows of a request being served (the status page's
// "request method", "request URI", "script", "content length"), read from
// its FastCGI params.
//
// Pure: params in, views into them out. One pass over the params, which
// stops once it has all six; it replaced six scans, one per name (445 of
// tfpm's 38,000 instructions per hello request, tools/bench/instructions).
#pragma once

#include <span>

#include "fastcgi/exchange.h"
#include "scoreboard/scoreboard.h"

namespace tfpm::worker {

// method, uri, script, script_name, query: the first param of each name
// (REQUEST_METHOD, REQUEST_URI, SCRIPT_FILENAME, SCRIPT_NAME, QUERY_STRING),
// "" if none; content_length: the first CONTENT_LENGTH's leading digits, 0 if
// none. wait_us is left as it is. The views point into `params`.
void ReadScoreboardRequest(std::span<const fastcgi::Exchange::Param> params,
                           scoreboard::SlotWriter::Request& r);

}  // namespace tfpm::worker
