// The receiver's Boost.Test program: unit tests of the reassembler, queue, sink and options,
// and process tests of framehive-receiver (alone, and with framehive-sender).
#define BOOST_TEST_MODULE receiver
#include <boost/test/unit_test.hpp>
