//! XML bodies: IMDN, isComposing, conference-info, resource-lists, reginfo.
