//! The core's errors as the exceptions of `skat_gateway.exceptions`.
//!
//! The class for each kind comes from the one table, [`ErrorKind::ALL`] (its `python_class`); nothing here maps
//! kinds by hand. The message is the core's (it never holds a secret), and the exception carries the C code,
//! the kind's name and, where a server reply caused it, that reply's code and text.

use crate::error::{Error, ErrorKind};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

pyo3::import_exception!(skat_gateway.exceptions, GatewayError);

/// The exception for a core error: the class its kind names in the table, a `GatewayError` in any case.
pub fn to_py_err(py: Python<'_>, error: &Error) -> PyErr {
    let info = error.kind().info();
    let build = || -> PyResult<PyErr> {
        let class = py.import("skat_gateway.exceptions")?.getattr(info.python_class)?;
        if !class.downcast::<PyType>()?.is_subclass_of::<GatewayError>()? {
            return Err(GatewayError::new_err(format!(
                "skat_gateway.exceptions.{} is not a GatewayError (a bug: please report it)",
                info.python_class
            )));
        }
        let kwargs = PyDict::new(py);
        kwargs.set_item("code", info.code)?;
        kwargs.set_item("kind", info.c_name)?;
        if let Some(reply) = error.server_reply() {
            kwargs.set_item("reply_code", reply.code)?;
            kwargs.set_item("reply_text", reply.text.trim_end())?;
        }
        Ok(PyErr::from_value(class.call((error.to_string(),), Some(&kwargs))?))
    };
    // A table row without its class is a bug the tests catch; the caller still gets a GatewayError.
    build().unwrap_or_else(|_| GatewayError::new_err(error.to_string()))
}

/// An `InvalidArgumentError` (a `GatewayError` and a `ValueError`) for an argument the glue refuses.
pub fn invalid_argument(message: impl Into<String>) -> PyErr {
    Python::attach(|py| to_py_err(py, &Error::new(ErrorKind::InvalidArgument, message)))
}

/// `(code, C name, Python class, summary)` for every kind: the table, for tests and documentation.
#[pyfunction]
pub fn error_table() -> Vec<(u32, &'static str, &'static str, &'static str)> {
    ErrorKind::ALL.iter().map(|row| (row.code, row.c_name, row.python_class, row.summary)).collect()
}
