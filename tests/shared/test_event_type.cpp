// The event type pattern test shared by the master's rules and framehive-ctl events --type:
// exact names, "family.*" of a whole family, and no match across or beside a family.
#include <boost/test/unit_test.hpp>

#include "framehive/shared/api/event_type.hpp"

BOOST_AUTO_TEST_SUITE(event_types)

BOOST_AUTO_TEST_CASE(type_matches_exact_and_family_patterns) {
  using fh::shared::api::event_type::type_matches;
  BOOST_TEST(type_matches("camera.*", "camera.loss"));
  BOOST_TEST(!type_matches("camera.*", "cameras.loss"));
  BOOST_TEST(!type_matches("camera.*", "object.start"));
  BOOST_TEST(!type_matches("camera.*", "camera."));
  BOOST_TEST(type_matches("object.end", "object.end"));
  BOOST_TEST(!type_matches("object.end", "object.start"));
  BOOST_TEST(!type_matches("object.end", "object.endless"));
}

BOOST_AUTO_TEST_SUITE_END()
