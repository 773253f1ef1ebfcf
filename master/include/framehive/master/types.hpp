#pragma once
// The contract's types as the master names them: defined once in shared/api/types.hpp, used
// here under fh::master. No XML-RPC types here; conversion lives in shared/api/xmlrpc.hpp.

#include "framehive/shared/api/types.hpp"

namespace fh::master {

using shared::api::Detection;
using shared::api::FailureRecord;
using shared::api::Frame;
using shared::api::KeptFrame;
using shared::api::PortStatus;
using shared::api::Registration;
using shared::api::Result;
using shared::api::ResultRecord;
using shared::api::SummaryBucket;
using shared::api::Task;
using shared::api::TaskInfo;
using shared::api::WorkerStatus;
using SchedulerStatus = shared::api::Status;

}  // namespace fh::master
