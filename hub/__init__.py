"""The Waybill hub: matches templates to policies, schedules them onto members, renders Works,
and aggregates status back. Depends on ``shared`` only."""
