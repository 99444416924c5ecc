//! Where the gateway is: environment (TFE, production) x generation (legacy, new), or a custom host.
//! (Filled in by the FTPS transport work.)
pub struct Endpoint;
pub enum Environment { Tfe, Production }
pub enum Generation { Legacy, New }
